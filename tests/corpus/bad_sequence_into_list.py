"""A Sequence is not a list: Sequence[int] does not fit list[int]."""

from __future__ import annotations

from collections.abc import Sequence

from conveyor import single_task

PRODUCER = "digits"
CONSUMER = "sort_in_place"


@single_task
def digits(text: str) -> Sequence[int]:
    return tuple(int(c) for c in text if c.isdigit())


@single_task
def sort_in_place(numbers: list[int]) -> int:
    numbers.sort()
    return len(numbers)


pipeline = digits | sort_in_place  # E: pipeline-mismatch
