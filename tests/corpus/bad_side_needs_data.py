"""A side input runs without data, so ``side()`` takes a source: not a task that needs
input items."""

from conveyor import side, single_task

CONSUMER = "greet"
PARAMETER = "word"


@single_task
def shout(text: str) -> str:
    return text.upper()


@single_task
def greet(name: str, *, word: str) -> str:
    return f"{word} {name}"


greet.with_inputs(word=side(shout))  # E: side-input
