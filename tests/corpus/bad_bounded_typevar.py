"""A TypeVar bound is respected: str items cannot bind N (bound=float)."""

from typing import TypeVar

from conveyor import single_task

PRODUCER = "label"
CONSUMER = "clamp"

N = TypeVar("N", bound=float)


@single_task
def label(number: int) -> str:
    return str(number)


@single_task
def clamp(value: N) -> N:
    return value


pipeline = label | clamp  # E: pipeline-mismatch
