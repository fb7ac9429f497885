"""One rule for checking option values, used by the decorators, RetryPolicy and runs.

A value of the wrong type is a ``TypeError``; a value of the right type that is out of
range is a ``ValueError``. Every message starts with its owner ("task 'parse'",
"pipeline 'a | b'") and names the option. Flags take only ``True`` / ``False`` (so
``"no"``, which is truthy, is refused); whole numbers refuse bools; seconds take an
``int`` or a ``float`` (not a bool) and must be finite.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import overload

from conveyor.typerules import type_repr

__all__ = ["check_flag", "check_count", "check_seconds", "check_choice", "shown"]


def shown(value: object) -> str:
    """A value as the user wrote it: ``int`` for a class, not ``<class 'int'>``."""
    return f"the type {type_repr(value)}" if isinstance(value, type) else repr(value)[:80]


def check_flag(owner: str, name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{owner}: {name} must be True or False, got {shown(value)}")
    return value


@overload
def check_count(owner: str, name: str, value: object, *, minimum: int) -> int: ...
@overload
def check_count(owner: str, name: str, value: object, *, minimum: int, optional: bool) -> int | None: ...


def check_count(owner: str, name: str, value: object, *, minimum: int, optional: bool = False) -> int | None:
    """A whole number >= ``minimum`` (or None when ``optional``)."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        also = " or None" if optional else ""
        raise TypeError(f"{owner}: {name} must be an int{also}, got {shown(value)}")
    if value < minimum:
        raise ValueError(f"{owner}: {name} must be at least {minimum}, got {value}")
    return value


@overload
def check_seconds(owner: str, name: str, value: object, *, positive: bool = ...) -> float: ...
@overload
def check_seconds(owner: str, name: str, value: object, *, positive: bool = ..., optional: bool) -> float | None: ...


def check_seconds(
    owner: str, name: str, value: object, *, positive: bool = False, optional: bool = False
) -> float | None:
    """A finite number of seconds, >= 0 (> 0 when ``positive``), or None when ``optional``."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        also = " or None" if optional else ""
        raise TypeError(f"{owner}: {name} must be a number of seconds (int or float){also}, got {shown(value)}")
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        bound = "> 0" if positive else ">= 0"
        raise ValueError(f"{owner}: {name} must be a finite number of seconds {bound}, got {shown(value)}")
    return float(value)


def check_choice(owner: str, name: str, value: object, choices: Collection[str]) -> str:
    allowed = ", ".join(map(repr, choices))
    if not isinstance(value, str):
        raise TypeError(f"{owner}: {name} must be one of {allowed} (a str), got {shown(value)}")
    if value not in choices:
        raise ValueError(f"{owner}: {name}={shown(value)} is not one of {allowed}")
    return value
