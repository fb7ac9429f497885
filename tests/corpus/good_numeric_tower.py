"""The numeric tower: bool -> int -> float -> complex."""

from conveyor import single_task


@single_task
def is_long(text: str) -> bool:
    return len(text) > 3


@single_task
def as_count(value: int) -> int:
    return value + 1


@single_task
def halve(value: float) -> float:
    return value / 2


@single_task
def rotate(value: complex) -> complex:
    return value * 1j


pipeline = is_long | as_count | halve | rotate
skipping = is_long | rotate
