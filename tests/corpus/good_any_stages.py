"""Gradual typing: Any-typed stages fit anything, both ways."""

from typing import Any

from conveyor import single_task


@single_task
def load(key: str) -> Any:
    return {"key": key}


@single_task
def need_int(number: int) -> int:
    return number


@single_task
def anything(value: Any) -> Any:
    return value


@single_task
def label(number: int) -> str:
    return str(number)


any_into_int = load | need_int
int_into_any = need_int | anything | label
any_between = label | anything | need_int
