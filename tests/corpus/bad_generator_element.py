"""A generator yielding str piped into an int consumer (the element type, not Iterator, is checked)."""

from collections.abc import Iterator

from conveyor import single_task

PRODUCER = "words"
CONSUMER = "double"


@single_task
def words(line: str) -> Iterator[str]:
    yield from line.split()


@single_task
def double(number: int) -> int:
    return number * 2


pipeline = words | double  # E: pipeline-mismatch
