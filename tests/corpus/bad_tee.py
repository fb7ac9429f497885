"""tee: a side branch that does not take the item type."""

from conveyor import single_task, tee

PRODUCER = "parse"
CONSUMER = "log_line"


@single_task
def parse(text: str) -> int:
    return int(text)


@single_task
def store(number: int) -> None:
    print(number)


@single_task
def log_line(text: str) -> None:
    print(text)


pipeline = parse | tee(store, log_line)  # E: pipeline-mismatch
