"""The simplest mismatch: a str producer piped into an int consumer."""

from conveyor import single_task

PRODUCER = "shout"
CONSUMER = "double"


@single_task
def shout(text: str) -> str:
    return text.upper()


@single_task
def double(number: int) -> int:
    return number * 2


pipeline = shout | double  # E: pipeline-mismatch
