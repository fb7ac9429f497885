"""TypeVar constraints are respected: a float cannot bind S (str or bytes)."""

from typing import TypeVar

from conveyor import single_task

PRODUCER = "ratio"
CONSUMER = "strip"

S = TypeVar("S", str, bytes)


@single_task
def ratio(text: str) -> float:
    return len(text) / 10


@single_task
def strip(value: S) -> S:
    return value.strip()


pipeline = ratio | strip  # E: pipeline-mismatch
