"""fork: a sub-pipeline branch whose first stage does not take the item type."""

from conveyor import fork, single_task

PRODUCER = "parse"
CONSUMER = "shout"


@single_task
def parse(text: str) -> int:
    return int(text)


@single_task
def double(number: int) -> int:
    return number * 2


@single_task
def shout(text: str) -> str:
    return text.upper()


@single_task
def count(text: str) -> int:
    return len(text)


pipeline = parse | fork(double, shout | count)  # E: pipeline-mismatch
