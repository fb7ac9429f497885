"""Two well-typed sub-pipelines joined where int meets str: (parse | double) | (shout | exclaim)."""

from conveyor import single_task

PRODUCER = "double"
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
def exclaim(text: str) -> str:
    return text + "!"


pipeline = (parse | double) | (shout | exclaim)  # E: pipeline-mismatch
