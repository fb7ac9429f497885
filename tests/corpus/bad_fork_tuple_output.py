"""fork: the tuple of answers (int, str) into a stage that takes (str, int)."""

from conveyor import fork, single_task

PRODUCER = "fork(double, show)"
CONSUMER = "swapped"


@single_task
def parse(text: str) -> int:
    return int(text)


@single_task
def double(number: int) -> int:
    return number * 2


@single_task
def show(number: int) -> str:
    return str(number)


@single_task
def swapped(pair: tuple[str, int]) -> str:
    return pair[0] * pair[1]


pipeline = parse | fork(double, show) | swapped  # E: pipeline-mismatch
