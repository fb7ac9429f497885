"""fan: the union of the branch outputs (int | str) into a stage that takes int only."""

from conveyor import fan, single_task

PRODUCER = "fan(double, show)"
CONSUMER = "double"


@single_task
def parse(text: str) -> int:
    return int(text)


@single_task
def double(number: int) -> int:
    return number * 2


@single_task
def show(number: int) -> str:
    return str(number)


pipeline = parse | fan(double, show) | double  # E: pipeline-mismatch
