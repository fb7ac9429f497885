"""ident(x: T) -> T after an int producer outputs int, which does not fit the str consumer."""

from typing import TypeVar

from conveyor import single_task

PRODUCER = "ident"
CONSUMER = "shout"

T = TypeVar("T")


@single_task
def count(text: str) -> int:
    return len(text)


@single_task
def ident(value: T) -> T:
    return value


@single_task
def shout(text: str) -> str:
    return text.upper()


pipeline = count | ident | shout  # E: pipeline-mismatch
