"""The numeric tower only widens: float does not fit int."""

from conveyor import single_task

PRODUCER = "halve"
CONSUMER = "index"


@single_task
def halve(number: int) -> float:
    return number / 2


@single_task
def index(position: int) -> str:
    return "abc"[position]


pipeline = halve | index  # E: pipeline-mismatch
