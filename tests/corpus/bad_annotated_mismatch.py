"""Annotated metadata is stripped, and the underlying types (str vs int) still do not fit."""

from typing import Annotated

from conveyor import single_task

PRODUCER = "label"
CONSUMER = "square"


@single_task
def label(number: int) -> Annotated[str, "a label"]:
    return str(number)


@single_task
def square(number: Annotated[int, "non-negative"]) -> int:
    return number * number


pipeline = label | square  # E: pipeline-mismatch
