"""Covariant containers: list -> Sequence, dict -> Mapping (values), tuple elements."""

from collections.abc import Iterable, Mapping, Sequence

from conveyor import single_task


@single_task
def flags(text: str) -> list[bool]:
    return [c.isupper() for c in text]


@single_task
def total(values: Sequence[int]) -> int:
    return sum(values)


@single_task
def scores(text: str) -> dict[str, bool]:
    return {text: True}


@single_task
def best(table: Mapping[str, int]) -> int:
    return max(table.values(), default=0)


@single_task
def pair(text: str) -> tuple[int, str]:
    return len(text), text


@single_task
def loose_pair(value: tuple[float, str]) -> str:
    return value[1]


@single_task
def twins(text: str) -> tuple[int, int]:
    return len(text), len(text)


@single_task
def many(values: tuple[int, ...]) -> int:
    return len(values)


@single_task
def walk(values: Iterable[float]) -> float:
    return sum(values)


list_into_sequence = flags | total
dict_into_mapping = scores | best
tuple_covariant = pair | loose_pair
fixed_into_variadic = twins | many
tuple_into_iterable = twins | walk
