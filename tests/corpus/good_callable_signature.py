"""Callables by signature: parameters contravariant, return covariant."""

from collections.abc import Callable

from conveyor import single_task


def render(value: object) -> str:
    return repr(value)


def check(value: int) -> bool:
    return value > 0


@single_task
def pick_renderer(name: str) -> Callable[[object], str]:
    return render


@single_task
def pick_check(name: str) -> Callable[[int], bool]:
    return check


@single_task
def apply_to_one(fn: Callable[[int], str]) -> str:
    return fn(1)


@single_task
def score_one(fn: Callable[[int], int]) -> int:
    return fn(1)


wider_parameter = pick_renderer | apply_to_one
narrower_return = pick_check | score_one
