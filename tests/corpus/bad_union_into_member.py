"""A union fits only when every member fits: int | str does not fit int."""

from conveyor import single_task

PRODUCER = "parse"
CONSUMER = "double"


@single_task
def parse(text: str) -> int | str:
    return int(text) if text.isdigit() else text


@single_task
def double(number: int) -> int:
    return number * 2


pipeline = parse | double  # E: pipeline-mismatch
