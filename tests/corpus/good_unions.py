"""Unions: a member fits the union; a union fits when each member fits."""

from conveyor import single_task


@single_task
def parse(text: str) -> int | str:
    return int(text) if text.isdigit() else text


@single_task
def describe(value: int | str | bytes) -> str:
    return repr(value)


@single_task
def count(text: str) -> int:
    return len(text)


@single_task
def either(value: int | str) -> str:
    return str(value)


@single_task
def flag(text: str) -> bool | int:
    return len(text)


@single_task
def widen(value: float) -> float:
    return value


wider_union = parse | describe
member_into_union = count | either
all_members_fit = flag | widen
