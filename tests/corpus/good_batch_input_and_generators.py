"""Batch input is the element of list[T]/Sequence[T]; batch generators yield items; generic batch fan-out."""

from collections.abc import Iterator, Sequence
from typing import TypeVar

from conveyor import batch_task, single_task

T = TypeVar("T")


@single_task
def length(word: str) -> int:
    return len(word)


@batch_task(max_size=4)
def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


@batch_task(max_size=4)
def chunks(values: list[int]) -> Iterator[list[int]]:
    yield values[:2]
    yield values[2:]


@single_task
def chunk_sum(chunk: list[int]) -> int:
    return sum(chunk)


@batch_task
def dedupe(items: list[T]) -> list[T]:
    return list(dict.fromkeys(items))


@single_task
def shout(word: str) -> str:
    return word.upper()


averaged = length | mean  # int items into a Sequence[float] batch
chunked = length | chunks | chunk_sum
generic_after_str = shout | dedupe | shout
