"""A batch task's input type is T of list[T]: str items into a list[int] batch do not fit."""

from conveyor import batch_task, single_task

PRODUCER = "shout"
CONSUMER = "total"


@single_task
def shout(word: str) -> str:
    return word.upper()


@batch_task(max_size=5)
def total(numbers: list[int]) -> int:
    return sum(numbers)


pipeline = shout | total  # E: pipeline-mismatch
