"""merge: the union of the sources' items (int | str) into a stage that takes int."""

from collections.abc import Iterator

from conveyor import merge, single_task

PRODUCER = "merge(numbers, words)"
CONSUMER = "double"


@single_task
def numbers() -> Iterator[int]:
    yield from range(3)


@single_task
def words() -> Iterator[str]:
    yield from ["a", "b"]


@single_task
def double(number: int) -> int:
    return number * 2


pipeline = merge(numbers, words) | double  # E: pipeline-mismatch
