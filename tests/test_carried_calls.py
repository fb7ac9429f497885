"""Calls carried down a chain by the task that finished the call before them
(runtime/carrying.py): each still behaves as a call of its own stage."""

from __future__ import annotations

import asyncio
import contextvars
import gc
import logging
import time
import warnings
from collections.abc import Iterator

import pytest

import conveyor
from conveyor import single_task
from tests.helpers import settle

VAR: contextvars.ContextVar[str] = contextvars.ContextVar("VAR", default="unset")
N = 60  # enough calls that the first stage stops trying eager first steps and carries


@single_task
async def first(x: int) -> int:
    VAR.set(f"set by first for {x}")
    await asyncio.sleep(0.001)
    return x


async def test_a_context_variable_set_upstream_is_not_seen_by_the_next_stage() -> None:
    tasks: dict[tuple[str, int], asyncio.Task[object] | None] = {}

    @single_task
    async def tracked_first(x: int) -> int:
        tasks["first", x] = asyncio.current_task()
        VAR.set(f"set by first for {x}")
        await asyncio.sleep(0.001)
        return x

    @single_task
    async def second(x: int) -> tuple[int, str]:
        tasks["second", x] = asyncio.current_task()
        seen = VAR.get()
        VAR.set(f"set by second for {x}")
        await asyncio.sleep(0)
        return x, seen

    @single_task
    async def third(pair: tuple[int, str]) -> tuple[int, str, str]:
        return pair[0], pair[1], VAR.get()

    results = await (tracked_first | second | third)(range(N)).collect()
    assert results == [(x, "unset", "unset") for x in range(N)]
    # The test is about carried calls: some items went on in the task that ran their first call.
    assert any(tasks["first", x] is tasks["second", x] for x in range(N))


async def test_calls_cancelled_before_they_started_leave_no_unawaited_coroutine() -> None:
    def data() -> Iterator[int]:
        yield from range(100)
        raise OSError("the source broke")  # fails the run while fresh carrying tasks wait to start

    @single_task
    async def slow(x: int) -> int:
        await asyncio.sleep(0.01)
        return x

    @single_task
    async def after(x: int) -> int:
        return x

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(OSError, match="the source broke"):
            await (slow | after)(data()).collect()
        assert not await settle()
        gc.collect()
    assert [str(w.message) for w in caught if "never awaited" in str(w.message)] == []


@pytest.fixture
def _blocking_threshold() -> Iterator[None]:
    conveyor.warn_blocking_calls(0.05)
    yield
    conveyor.warn_blocking_calls()


@pytest.mark.usefixtures("_blocking_threshold")
async def test_a_carried_async_call_that_blocks_the_loop_still_warns(caplog: pytest.LogCaptureFixture) -> None:
    @single_task
    async def waits(x: int) -> int:
        await asyncio.sleep(0.001)
        return x

    @single_task(task_name="blocks_when_carried")
    async def blocks(x: int) -> int:
        time.sleep(0.06)  # never awaits: holds the event loop
        return x

    with caplog.at_level(logging.WARNING, logger="conveyor"):
        assert await (waits | blocks)(range(12)).collect() == list(range(12))
    assert [r for r in caplog.records if getattr(r, "task_name", None) == "blocks_when_carried"
            and "blocked the event loop" in r.message]


async def test_collect_delivers_every_ready_result_and_counts_it() -> None:
    @single_task
    async def fails_late(x: int) -> int:
        await asyncio.sleep(0)
        if x == 150:
            raise ValueError(x)
        return x

    stream = (first | fails_late)(range(200))
    with pytest.raises(ValueError, match="150"):
        await stream.collect()

    stream = (first | fails_late)(range(150))
    assert await stream.collect() == list(range(150))
    assert stream.stats.delivered == 150


async def test_carried_calls_that_finish_out_of_order_come_out_in_input_order() -> None:
    @single_task
    async def quick(x: int) -> int:
        await asyncio.sleep(0.001)
        return x

    @single_task
    async def later_items_finish_first(x: int) -> int:
        await asyncio.sleep(0.002 * (N - x) / N)
        return x * 10

    @single_task
    async def last(x: int) -> int:
        await asyncio.sleep(0)
        return x + 1

    stream = (quick | later_items_finish_first | last)(range(N))
    assert await stream.collect() == [x * 10 + 1 for x in range(N)]
    for stage in stream.stats.stages:
        assert (stage.items_in, stage.items_out, stage.calls, stage.finished_calls) == (N, N, N, N)
    assert stream.stats.delivered == N
