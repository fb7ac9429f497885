"""Generic tasks: T -> T keeps the upstream type, Sequence[T] -> T picks the element, constrained TypeVars."""

from collections.abc import Sequence
from typing import TypeVar

from conveyor import single_task

T = TypeVar("T")
S = TypeVar("S", str, bytes)
N = TypeVar("N", bound=float)


@single_task
def count(text: str) -> int:
    return len(text)


@single_task
def ident(value: T) -> T:
    return value


@single_task
def need_int(number: int) -> int:
    return number


@single_task
def split(text: str) -> list[str]:
    return text.split()


@single_task
def first(items: Sequence[T]) -> T:
    return items[0]


@single_task
def need_str(text: str) -> str:
    return text


@single_task
def strip(text: S) -> S:
    return text.strip()


@single_task
def clamp(number: N) -> N:
    return number


identity = count | ident | need_int
identity_twice = count | ident | ident | need_int
element = split | first | need_str
constrained = need_str | strip | need_str
bounded = count | clamp | need_int
