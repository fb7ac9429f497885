"""fork: every item to every branch, one tuple of the answers per item, typed
element by element."""

from typing import assert_type

from conveyor import Pipeline, fork, single_task


@single_task
def parse(text: str) -> int:
    return int(text)


@single_task
def double(number: int) -> int:
    return number * 2


@single_task
def show(number: int) -> str:
    return str(number)


@single_task
def exclaim(text: str) -> str:
    return text + "!"


@single_task
def combine(pair: tuple[int, str]) -> str:
    return f"{pair[0]} {pair[1]}"


@single_task
def total(answers: tuple[float, ...]) -> float:
    return sum(answers)


paired = parse | fork(double, show)
assert_type(paired, Pipeline[str, tuple[int, str]])
combined = parse | fork(double, show | exclaim) | combine
assert_type(combined, Pipeline[str, str])
three = parse | fork(double, double, double) | total
assert_type(three, Pipeline[str, float])
