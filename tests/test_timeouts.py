"""Per-call timeouts (``timeout=``): a call running longer is cancelled and fails with a
TimeoutError, which retries, error handlers and ``on_error`` then treat like any failure.

Bounds are generous (a loaded 2-core machine): a call that would sleep 30 s under a
0.05 s limit must end long before 30 s, never "within 0.06 s".
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from conveyor import ErrorHandler, Pipeline, batch_task, single_task
from conveyor.render import outline
from tests.helpers import settle

HANG = 30.0  # what a stuck call would sleep
LIMIT = 0.05
GENEROUS = 10.0  # every test here ends well before a stuck call would


@pytest.fixture
def clock() -> Iterator[None]:
    started = time.perf_counter()
    yield
    assert time.perf_counter() - started < GENEROUS, "a stuck call was not cut off by its timeout"


def _stuck_on(bad: set[int]) -> Any:
    async def call(x: int) -> int:
        await asyncio.sleep(HANG if x in bad else 0)
        return x

    return call


@pytest.mark.usefixtures("clock")
async def test_a_call_past_its_timeout_fails_the_run_with_a_timeout_error_naming_task_item_attempt_and_limit() -> None:
    slow = single_task(timeout=LIMIT, task_name="slow")(_stuck_on({2}))
    with pytest.raises(TimeoutError) as caught:
        await slow(range(5)).collect()
    assert "timeout=0.05 s" in str(caught.value)
    notes = "\n".join(caught.value.__notes__)
    assert "task 'slow'" in notes and "item 2" in notes and "attempt 1 of 1" in notes and "timeout=0.05 s" in notes
    assert isinstance(caught.value.__cause__, asyncio.CancelledError)  # where the call was waiting
    assert not await settle()


@pytest.mark.usefixtures("clock")
@pytest.mark.parametrize("ordered", [True, False])
@pytest.mark.parametrize("position", ["first", "middle", "last"])
async def test_in_a_chain_every_way_a_call_runs_is_cut_off(ordered: bool, position: str) -> None:
    """Eager calls continued by the pump, calls carried by another task, calls run as
    their own tasks (the stage stops trying eagerly after a few suspensions): all of
    them time out, and only the stuck item is lost."""

    async def step(x: int) -> int:
        await asyncio.sleep(0)
        return x

    plain = single_task(task_name="before")(step), single_task(task_name="after")(step)
    bounded = single_task(timeout=LIMIT, on_error="skip_item", task_name="bounded")(_stuck_on({3, 17}))
    stages = {"first": (bounded, *plain), "middle": (plain[0], bounded, plain[1]), "last": (*plain, bounded)}[position]
    pipeline = Pipeline().add(*stages)
    stream = pipeline(range(30)) if ordered else pipeline.as_completed(range(30))
    results = await stream.collect()
    expected = [x for x in range(30) if x not in {3, 17}]
    assert (results if ordered else sorted(results)) == expected
    assert stream.stats["bounded"].skipped == 2
    assert not await settle()


@pytest.mark.usefixtures("clock")
async def test_a_call_that_times_out_is_retried_and_may_then_succeed() -> None:
    attempts = 0

    @single_task(timeout=LIMIT, retry_attempts=3, retry_delay=0)
    async def flaky(x: int) -> int:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            await asyncio.sleep(HANG)
        return x

    stream = flaky([7])
    assert await stream.collect() == [7]
    assert attempts == 3 and stream.stats["flaky"].retries == 2


@pytest.mark.usefixtures("clock")
async def test_every_retry_has_its_own_limit_and_the_last_one_is_reported() -> None:
    slow = single_task(timeout=LIMIT, retry_attempts=2, retry_delay=0, task_name="slow")(_stuck_on({1}))
    with pytest.raises(TimeoutError) as caught:
        await slow([1]).collect()
    assert any("attempt 2 of 2" in note for note in caught.value.__notes__)


@pytest.mark.usefixtures("clock")
async def test_the_error_handler_receives_the_timeout_error() -> None:
    seen: list[tuple[type[BaseException], Any, int]] = []

    class Fallback(ErrorHandler):
        async def handle_error(self, error: Exception, item: Any, task_name: str, attempt: int) -> tuple[bool, Any]:
            seen.append((type(error), item, attempt))
            return True, -1

    slow = single_task(timeout=LIMIT, error_handler=Fallback())(_stuck_on({2}))
    assert await slow(range(4)).collect() == [0, 1, -1, 3]
    assert seen == [(TimeoutError, 2, 1)]


@pytest.mark.usefixtures("clock")
async def test_an_async_generator_is_bounded_as_a_whole_call_and_its_outputs_are_not_delivered() -> None:
    @single_task(timeout=LIMIT, on_error="skip_item")
    async def pieces(x: int) -> AsyncIterator[int]:
        yield x
        if x == 1:
            await asyncio.sleep(HANG)
        yield x * 10

    assert await pieces(range(3)).collect() == [0, 0, 2, 20]


@pytest.mark.usefixtures("clock")
async def test_a_batch_call_is_bounded_and_fails_as_one_batch() -> None:
    @batch_task(max_size=2, timeout=LIMIT, on_error="skip_batch")
    async def total(items: list[int]) -> int:
        if 3 in items:
            await asyncio.sleep(HANG)
        return sum(items)

    stream = total(range(6))
    assert await stream.collect() == [1, 9]
    assert stream.stats["total"].skipped == 2


@pytest.mark.usefixtures("clock")
async def test_asyncio_timeout_inside_the_call_keeps_working() -> None:
    @single_task(timeout=5.0)
    async def careful(x: int) -> str:
        me = asyncio.current_task()
        try:
            async with asyncio.timeout(0.01):
                await asyncio.sleep(HANG)
        except TimeoutError:
            pass
        assert asyncio.current_task() is me  # the same task throughout the call
        await asyncio.sleep(0)
        return f"recovered {x}"

    assert await careful(range(3)).collect() == ["recovered 0", "recovered 1", "recovered 2"]


@pytest.mark.usefixtures("clock")
async def test_the_outer_limit_wins_over_a_longer_inner_asyncio_timeout() -> None:
    @single_task(timeout=LIMIT)
    async def patient(x: int) -> int:
        async with asyncio.timeout(HANG):
            await asyncio.sleep(HANG)
        return x

    with pytest.raises(TimeoutError) as caught:
        await patient([1]).collect()
    assert any("timeout=0.05 s" in note for note in caught.value.__notes__)


async def test_a_finished_call_leaves_no_timer_behind_to_cancel_later_work() -> None:
    """The task that ran a bounded call goes on carrying items into the next stage:
    the call's timer must be gone by then, or it would cancel that unrelated work."""

    @single_task(timeout=LIMIT)
    async def quick(x: int) -> int:
        await asyncio.sleep(0)
        return x

    @single_task
    async def long_after(x: int) -> int:
        await asyncio.sleep(LIMIT * 4)  # well past quick's limit, in the same task
        return x

    assert await (quick | long_after)(range(20)).collect() == list(range(20))


async def test_calls_that_finish_in_time_are_untouched() -> None:
    @single_task(timeout=GENEROUS)
    async def fine(x: int) -> int:
        await asyncio.sleep(0.001)
        return x * 2

    assert await fine(range(300)).collect() == [x * 2 for x in range(300)]


@pytest.mark.usefixtures("clock")
async def test_stuck_calls_among_many_finished_ones_are_cut_off_each_at_its_own_time() -> None:
    """A stage's calls share one timer: the ended ones must not hide a stuck one, however
    many there are (they are dropped as they pile up)."""
    stuck = {5, 150, 290}
    slow = single_task(timeout=0.2, on_error="skip_item")(_stuck_on(stuck))
    stream = slow(range(300))
    assert await stream.collect() == [x for x in range(300) if x not in stuck]
    assert stream.stats.stages[0].skipped == 3


async def test_closing_the_stream_early_cancels_bounded_calls_quietly() -> None:
    slow = single_task(timeout=GENEROUS)(_stuck_on({1, 2, 3}))
    stream = slow(range(5))
    async for first in stream:
        assert first == 0
        break
    await stream.aclose()
    assert not await settle()


# -- decoration ---------------------------------------------------------------------------


def test_a_sync_function_cannot_take_a_timeout() -> None:
    with pytest.raises(TypeError, match=r"task 'parse': timeout= needs an async function"):

        @single_task(timeout=1.0)
        def parse(text: str) -> int:
            return int(text)


def test_a_sync_generator_or_batch_function_cannot_take_a_timeout() -> None:
    def split(text: str) -> Iterator[str]:
        yield from text.split()

    def total(items: list[int]) -> int:
        return sum(items)

    with pytest.raises(TypeError, match="needs an async function"):
        single_task(timeout=1.0)(split)
    with pytest.raises(TypeError, match="batch task 'total': timeout= needs an async function"):
        batch_task(timeout=1.0)(total)


def test_a_source_generator_cannot_take_a_timeout() -> None:
    async def numbers() -> AsyncIterator[int]:
        yield 1

    with pytest.raises(TypeError, match="does not apply to a source generator"):
        single_task(timeout=1.0)(numbers)


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        ("1", TypeError, "timeout must be a number of seconds"),
        (True, TypeError, "timeout must be a number of seconds"),
        (0, ValueError, "timeout must be a finite number of seconds > 0"),
        (-1.0, ValueError, "timeout must be a finite number of seconds > 0"),
        (math.nan, ValueError, "timeout must be a finite number of seconds > 0"),
        (math.inf, ValueError, "timeout must be a finite number of seconds > 0"),
    ],
)
def test_bad_timeout_values_fail_at_decoration(value: object, error: type[Exception], message: str) -> None:
    async def fetch(x: int) -> int:
        return x

    with pytest.raises(error, match=message):
        single_task(timeout=value)(fetch)  # type: ignore[call-overload]


def test_the_timeout_is_shown_in_the_repr_and_the_outline() -> None:
    @single_task(timeout=2.5)
    async def fetch(x: int) -> int:
        return x

    assert "timeout=2.5s" in repr(fetch)
    assert "timeout=2.5s" in outline(Pipeline.of(fetch))


# -- executors: the run stops waiting; the call itself runs on ------------------------------------


def _held_in_a_thread(release: threading.Event, finished: list[int]) -> Any:
    def call(x: int) -> int:
        if x == 2:
            release.wait(HANG)  # a thread cannot be stopped: it runs until released
            finished.append(x)
        return x

    return call


@pytest.mark.usefixtures("clock")
@pytest.mark.parametrize("ordered", [True, False])
async def test_a_thread_call_past_its_timeout_fails_but_its_thread_runs_on(ordered: bool) -> None:
    release = threading.Event()
    finished: list[int] = []
    # a limit the quick calls meet even on a loaded machine (a pool thread may start late)
    held = single_task(executor="thread", timeout=0.5, on_error="skip_item")(_held_in_a_thread(release, finished))
    stream = held(range(5)) if ordered else held.as_completed(range(5))
    delivered: list[int] = []
    async for x in stream:  # the other items arrive while the timed-out thread still runs
        delivered.append(x)
        if len(delivered) == 4:
            while not stream.stats.stages[0].skipped:  # the other calls may beat the limit
                await asyncio.sleep(0.01)
            assert finished == []
            release.set()
    assert sorted(delivered) == [0, 1, 3, 4]
    assert stream.stats.stages[0].skipped == 1
    assert finished == [2]  # the run waited for the thread before it ended
    assert not await settle()


def test_a_sync_function_in_an_executor_can_take_a_timeout() -> None:
    def parse(text: str) -> int:
        return int(text)

    assert single_task(executor="thread", timeout=1.0)(parse).timeout == 1.0
