"""Branching steps inside branches: a fan and a tee inside a fork, typed through."""

from typing import assert_type

from conveyor import Pipeline, fan, fork, single_task, tee


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
def store(number: int) -> None:
    print(number)


@single_task
def combine(pair: tuple[int | str, int]) -> str:
    return f"{pair[0]} {pair[1]}"


nested = parse | fork(fan(double, show), tee(store) | double) | combine
assert_type(nested, Pipeline[str, str])
