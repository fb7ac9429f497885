"""A source generator (no item parameter) producing str, piped into an int consumer."""

from collections.abc import Iterator

from conveyor import single_task

PRODUCER = "names"
CONSUMER = "double"


@single_task
def names() -> Iterator[str]:
    yield "ada"
    yield "alan"


@single_task
def double(number: int) -> int:
    return number * 2


pipeline = names | double  # E: pipeline-mismatch
