"""``side(pipeline)`` is typed as the pipeline's one item: int items cannot feed a str
side input."""

from collections.abc import Iterator

from conveyor import side, single_task

CONSUMER = "greet"
PARAMETER = "word"


@single_task
def numbers() -> Iterator[int]:
    yield 1


@single_task
def greet(name: str, *, word: str) -> str:
    return f"{word} {name}"


greeted = greet.with_inputs(word=side(numbers))  # E: side-input
