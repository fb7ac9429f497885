"""first(xs: Sequence[T]) -> T after list[str] outputs str, which does not fit int."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from conveyor import single_task

PRODUCER = "first"
CONSUMER = "double"

T = TypeVar("T")


@single_task
def split(text: str) -> list[str]:
    return text.split()


@single_task
def first(items: Sequence[T]) -> T:
    return items[0]


@single_task
def double(number: int) -> int:
    return number * 2


pipeline = split | first | double  # E: pipeline-mismatch
