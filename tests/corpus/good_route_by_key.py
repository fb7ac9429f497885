"""route_by_key: each item to the branch its key names; every branch takes the item type."""

from typing import assert_type

from conveyor import Pipeline, route_by_key, single_task


@single_task
def parse(text: str) -> int:
    return int(text)


@single_task
def halve(number: int) -> str:
    return str(number // 2)


@single_task
def triple(number: int) -> str:
    return str(number * 3 + 1)


@single_task
def show(number: int) -> str:
    return str(number)


def parity(number: int) -> str:
    return "even" if number % 2 == 0 else "odd"


by_key = parse | route_by_key(parity, {"even": halve, "odd": triple})
assert_type(by_key, Pipeline[str, str])
with_default = parse | route_by_key(parity, {"even": halve}, default=show)
assert_type(with_default, Pipeline[str, str])
