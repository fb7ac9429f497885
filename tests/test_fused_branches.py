"""A fan or fork whose branches' calls complete inline is run by its feeder, item by
item (runtime/fused.py); the first call that waits switches it to the usual way. Either
way the user sees the same outputs, order, figures and bounds."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from conveyor import fan, fork, single_task
from tests.helpers import settle
from tests.test_branches import odd_only, twice  # the same generator and filter


@single_task
def inc(x: int) -> int:
    return x + 1


@single_task
async def neg(x: int) -> int:  # a coroutine that never waits: still inline
    return -x


@single_task
def scaled(x: int, factor: int) -> int:
    return x * factor


def waits_from(first: int) -> object:
    @single_task(task_name="waits")
    async def waits(x: int) -> int:
        if x >= first:
            await asyncio.sleep(0.001 * (x % 3))  # suspends; later items sometimes finish first
        return x * 10

    return waits


async def test_inline_branches_give_every_output_in_input_then_branch_order() -> None:
    stream = fan(inc | twice, neg, odd_only)(range(6))
    assert await stream.collect() == [
        1, 1, 0, 2, 2, -1, 1, 3, 3, -2, 4, 4, -3, 3, 5, 5, -4, 6, 6, -5, 5,
    ]
    rows = {(row.name, row.path.split(" of ")[0]): row for row in stream.stats.stages}
    assert rows[("inc", "branch 'inc...' (1")].calls == 6
    assert rows[("twice", "branch 'inc...' (1")].items_out == 12
    assert rows[("odd_only", "branch 'odd_only' (3")].items_out == 3
    assert stream.stats.stages[0].items_in == 6 and stream.stats.stages[0].items_out == 21


async def test_a_call_that_waits_switches_to_the_usual_way_and_keeps_the_order() -> None:
    for first in (0, 1, 37, 199):  # the first item, the second, mid-stream, the last
        out = await fan(inc, waits_from(first), neg)(range(200)).collect()
        assert out == [v for x in range(200) for v in (x + 1, x * 10, -x)], first
        pairs = await fork(waits_from(first), inc)(range(200)).collect()
        assert pairs == [(x * 10, x + 1) for x in range(200)], first
    assert not await settle()


async def test_as_completed_gives_the_same_outputs() -> None:
    for first in (0, 50, 1_000):
        out = await fan(inc, waits_from(first)).as_completed(range(100)).collect()
        assert sorted(out) == sorted([x + 1 for x in range(100)] + [x * 10 for x in range(100)])


async def test_side_inputs_and_retries_in_branches() -> None:
    attempts: dict[int, int] = {}

    @single_task(retry_attempts=2, retry_delay=0)
    def flaky(x: int) -> int:
        attempts[x] = attempts.get(x, 0) + 1
        if x == 7 and attempts[x] == 1:
            raise ConnectionError("once")
        return x

    pairs = await fork(flaky, scaled.with_inputs(factor=3))(range(20)).collect()
    assert pairs == [(x, 3 * x) for x in range(20)]
    assert attempts[7] == 2


async def test_a_failure_stops_the_run_with_the_branch_in_its_notes() -> None:
    @single_task(task_name="picky")
    def picky(x: int) -> int:
        if x == 3:
            raise ValueError("three")
        return x

    with pytest.raises(ValueError, match="three") as info:
        await fan(inc, picky)(range(10)).collect()
    notes = "\n".join(info.value.__notes__)
    assert "task 'picky'" in notes and "branch 'picky' (2 of 2) of fan" in notes
    assert not await settle()


async def test_the_source_is_read_only_as_fast_as_the_consumer_pulls() -> None:
    read = 0

    def source() -> Iterator[int]:
        nonlocal read
        for x in range(10_000):
            read += 1
            yield x

    pulled = 0
    async for _ in fan(inc, neg)(source(), max_in_flight=8):
        pulled += 1
        if pulled == 50:
            break
    assert read <= 50 // 2 + 8 + 2  # two outputs per item, at most 8 waiting, one in hand
    assert not await settle()


async def test_a_fork_branch_that_gives_no_answer_drops_the_item_and_counts_it() -> None:
    stream = fork(inc, odd_only)(range(6))
    assert await stream.collect() == [(2, 1), (4, 3), (6, 5)]
    assert stream.stats.stages[0].skipped == 3


async def test_no_call_starts_after_a_failure_even_within_one_items_outputs() -> None:
    seen: list[int] = []

    @single_task
    def spread(x: int) -> Iterator[int]:
        yield from range(x * 10, x * 10 + 5)

    @single_task(task_name="picky")
    def picky(x: int) -> int:
        seen.append(x)
        if x == 10:
            raise ValueError("boom")
        return x

    with pytest.raises(ValueError, match="boom"):
        await fan(spread | picky, inc)(range(5)).collect()
    assert seen == [0, 1, 2, 3, 4, 10]  # 11 to 14 never started: the run had failed


async def test_a_fork_hands_on_the_pairs_before_an_item_it_cannot_pair() -> None:
    @single_task
    def once_twice(x: int) -> Iterator[int]:
        yield x
        if x == 5:
            yield x  # two answers for item 5: a fork cannot pair them

    got: list[tuple[int, int]] = []
    with pytest.raises(Exception, match="2 outputs for item 5") as info:
        async for pair in fork(once_twice, inc)(range(10)):
            got.append(pair)
    assert type(info.value).__name__ == "BranchShapeError"
    assert got == [(x, x + 1) for x in range(5)]  # the usual way delivers them too
