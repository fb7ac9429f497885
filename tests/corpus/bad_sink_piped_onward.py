"""A sink (-> None) emits nothing, so piping it into another stage is a mismatch."""

from __future__ import annotations

from conveyor import single_task

PRODUCER = "store"
CONSUMER = "double"


@single_task
def store(number: int) -> None:
    print(number)


@single_task
def double(number: int) -> int:
    return number * 2


pipeline = store | double  # E: pipeline-mismatch
