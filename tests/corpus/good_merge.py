"""merge: source pipelines and plain data as one stream of the union of their items."""

from collections.abc import Iterator
from typing import Never, assert_type

from conveyor import Pipeline, merge, single_task


@single_task
def numbers() -> Iterator[int]:
    yield from range(3)


@single_task
def words() -> Iterator[str]:
    yield from ["a", "b"]


@single_task
def double(number: int) -> int:
    return number * 2


@single_task
def describe(value: int | str) -> str:
    return repr(value)


merged = merge(numbers, words) | describe
assert_type(merged, Pipeline[Never, str])
with_data = merge(numbers | double, [4, 5])
assert_type(with_data, Pipeline[Never, int])
then_on = with_data | double
assert_type(then_on, Pipeline[Never, int])
