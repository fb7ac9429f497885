"""Batch tasks: grouping, fan-out, aggregation, remainder, min_size and max_wait."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

from conveyor import batch_task, single_task


async def test_items_are_grouped_up_to_max_size_and_lists_fan_out() -> None:
    seen: list[list[str]] = []

    @batch_task(max_size=5)
    async def bulk(items: list[str]) -> list[str]:
        seen.append(list(items))
        return [item.upper() for item in items]

    assert await bulk(list("abcdef")).collect() == list("ABCDEF")
    assert seen == [list("abcde"), ["f"]]


async def test_non_list_return_is_one_item_per_batch() -> None:
    @batch_task(max_size=5)
    async def count(items: list[dict[str, int]]) -> dict[str, int]:
        return {"count": len(items), "total": sum(i["n"] for i in items)}

    data = [{"n": n} for n in range(7)]
    assert await count(data).collect() == [{"count": 5, "total": 10}, {"count": 2, "total": 11}]


async def test_none_emits_nothing() -> None:
    calls = []

    @batch_task(max_size=2)
    def sink(items: list[int]) -> None:
        calls.append(items)

    assert await sink(range(5)).collect() == []
    assert calls == [[0, 1], [2, 3], [4]]


async def test_max_size_none_is_one_batch_of_everything() -> None:
    @batch_task
    def total(items: list[int]) -> int:
        return sum(items)

    assert await total(range(101)).collect() == [5050]


async def test_remainder_below_min_size_is_processed_not_dropped() -> None:
    seen: list[list[int]] = []

    @batch_task(min_size=3, max_size=4)
    def record(items: list[int]) -> list[int]:
        seen.append(items)
        return items

    assert await record(range(6)).collect() == list(range(6))
    assert seen == [[0, 1, 2, 3], [4, 5]]


async def test_generator_batch_task_emits_each_yield() -> None:
    @batch_task(max_size=2)
    def pairs(items: list[int]) -> Iterator[tuple[int, int]]:
        yield (items[0], len(items))

    assert await pairs(range(5)).collect() == [(0, 2), (2, 2), (4, 1)]


async def test_batches_keep_input_order_after_a_reordering_stage() -> None:
    @single_task
    async def jitter(x: int) -> int:
        await asyncio.sleep(0.001 * (x % 3))
        return x

    @batch_task(max_size=3)
    async def tag(items: list[int]) -> list[tuple[int, int]]:
        return [(len(items), x) for x in items]

    out = await (jitter | tag)(range(8)).collect()
    assert [x for _, x in out] == list(range(8))
    assert [n for n, _ in out] == [3, 3, 3, 3, 3, 3, 2, 2]


async def test_max_wait_dispatches_a_partial_batch_when_input_stalls() -> None:
    """Three items arrive, then the input stalls until the consumer has seen a batch."""
    consumer_saw_batch = asyncio.Event()

    async def stalling() -> AsyncIterator[int]:
        for i in range(3):
            yield i
        await asyncio.wait_for(consumer_saw_batch.wait(), timeout=10)
        yield 3

    @batch_task(min_size=2, max_size=10, max_wait=0.02)
    async def size(items: list[int]) -> list[int]:
        return [len(items)]

    results = []
    async for n in size(stalling()):
        results.append(n)
        consumer_saw_batch.set()
    assert results == [3, 1]


async def test_max_wait_waits_for_min_size() -> None:
    """A partial batch below min_size is held until min_size items have arrived."""
    gate = asyncio.Event()
    sent = 0

    async def slow() -> AsyncIterator[int]:
        nonlocal sent
        yield 0
        await asyncio.sleep(0.05)  # several max_wait periods pass with one item
        sent = 2
        yield 1
        await asyncio.wait_for(gate.wait(), timeout=10)
        yield 2

    @batch_task(min_size=2, max_size=10, max_wait=0.005)
    async def snapshot(items: list[int]) -> list[int]:
        return [len(items)]

    results = []
    async for n in snapshot(slow()):
        results.append(n)
        gate.set()
    assert results == [2, 1]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"min_size": 0}, "min_size"),
        ({"max_size": 0}, "max_size"),
        ({"min_size": 5, "max_size": 2}, "smaller than min_size"),
        ({"max_wait": 0}, "max_wait"),
        ({"max_wait": -1.0}, "max_wait"),
        ({"on_error": "skip_item"}, "does not apply to a batch task"),
        ({"on_error": "ignore"}, "not a known error policy"),
        ({"retry_attempts": 0}, "retry_attempts"),
        ({"concurrency_limit": 0}, "concurrency_limit"),
    ],
)
def test_bad_options_fail_at_decoration(options: dict[str, object], message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):

        @batch_task(**options)  # type: ignore[call-overload]
        def f(items: list[int]) -> list[int]:
            return items


def test_batch_task_needs_a_batch_parameter() -> None:
    with pytest.raises(TypeError, match="needs a parameter"):

        @batch_task(max_size=2)
        def f() -> list[int]:
            return []
