"""Regression tests for hard cases: failures mid-flight, odd cancellations, tight bounds."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any

import pytest

from conveyor import batch_task, single_task
from tests.helpers import settle


async def test_no_call_starts_after_the_run_failed() -> None:
    calls: list[int] = []

    @single_task
    def breaks_from_three(x: int) -> int:
        calls.append(x)
        if x >= 3:
            raise ValueError(x)
        return x

    stream = breaks_from_three(range(1000))
    with pytest.raises(ValueError) as info:
        await stream.collect()
    assert calls == [0, 1, 2, 3]
    assert len(info.value.__notes__) == 1
    assert stream.stats.stages[0].failed == 1


@pytest.mark.parametrize(("window", "limit"), [(1, None), (2, None), (3, 1)])
async def test_source_generator_with_tight_bounds(window: int, limit: int | None) -> None:
    @single_task(concurrency_limit=limit)
    def numbers() -> Iterator[int]:
        yield from range(5)

    assert await asyncio.wait_for(numbers(max_in_flight=window).collect(), 10) == [0, 1, 2, 3, 4]


async def test_aclose_from_another_task_ends_the_consumer_loop() -> None:
    @single_task
    async def slow(x: int) -> int:
        await asyncio.sleep(0 if x == 0 else 30)
        return x

    stream = slow(range(3))
    seen: list[int] = []

    async def consume() -> None:
        async for x in stream:
            seen.append(x)

    consumer = asyncio.create_task(consume())
    await asyncio.sleep(0.05)
    await stream.aclose()
    await asyncio.wait_for(consumer, 10)
    assert seen == [0]


async def test_a_timed_out_anext_ends_the_stream_instead_of_hanging() -> None:
    @single_task
    async def slow(x: int) -> int:
        await asyncio.sleep(30)
        return x

    stream = slow([1, 2])
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(anext(stream), 0.05)
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(anext(stream), 10)
    assert not await settle()


@pytest.mark.parametrize("suspend_first", [False, True])
async def test_cancelled_error_raised_by_user_code_is_a_failure(suspend_first: bool) -> None:
    dead = asyncio.get_running_loop().create_future()
    dead.cancel()

    @single_task
    async def awaits_dead(x: int) -> int:
        if suspend_first:
            await asyncio.sleep(0.001)
        if x == 2:
            await dead
        return x

    with pytest.raises(RuntimeError, match="raised CancelledError without being cancelled"):
        await asyncio.wait_for(awaits_dead(range(5)).collect(), 10)

    @single_task(on_error="skip_item")
    async def tolerant(x: int) -> int:
        if x == 2:
            await dead
        return x

    assert await asyncio.wait_for(tolerant(range(4)).collect(), 10) == [0, 1, 3]


async def test_cancelling_one_run_does_not_hang_another_sharing_a_coroutine_side_input() -> None:
    gate = asyncio.Event()

    async def slow_config() -> int:
        await gate.wait()
        return 1

    @single_task
    def add(x: int, n: int) -> int:
        return x + n

    task = add.with_inputs(n=slow_config())
    first = asyncio.create_task(task([1]).collect())
    second = asyncio.create_task(task([2]).collect())
    await asyncio.sleep(0.05)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    with pytest.raises(RuntimeError, match="cancelled during an earlier run"):
        await asyncio.wait_for(second, 10)


async def test_async_wrapper_around_a_sync_function_is_awaited() -> None:
    def to_thread(fn: Callable[[int], int]) -> Callable[[int], Coroutine[Any, Any, int]]:
        @functools.wraps(fn)
        async def wrapper(x: int) -> int:
            return await asyncio.to_thread(fn, x)

        return wrapper

    @single_task
    @to_thread
    def square(x: int) -> int:
        return x * x

    assert await square([1, 2]).collect() == [1, 4]


async def test_closing_early_leaves_no_unawaited_coroutine() -> None:
    @single_task
    async def fetch(x: int) -> int:
        await asyncio.sleep(0.01)
        return x

    async with fetch(range(100)) as stream:
        async for _ in stream:
            break
    assert not await settle()


async def test_a_failed_upstream_pull_of_a_timed_batch_is_reported_once() -> None:
    logging.getLogger("conveyor").setLevel(logging.CRITICAL)

    async def data() -> AsyncIterator[int]:
        yield 0
        yield 1
        await asyncio.sleep(0.02)
        yield 2
        await asyncio.sleep(0.03)
        raise ZeroDivisionError("input broke")

    @batch_task(max_size=10, max_wait=0.01, concurrency_limit=1)
    async def store(xs: list[int]) -> int:
        await asyncio.sleep(0.08)
        raise KeyError("store failed")

    try:
        with pytest.raises((KeyError, ZeroDivisionError)):
            await asyncio.wait_for(store(data()).collect(), 10)
    finally:
        logging.getLogger("conveyor").setLevel(logging.NOTSET)


async def test_max_wait_takes_waiting_items_at_once() -> None:
    @batch_task(max_size=100, max_wait=1e-9)
    def sizes(xs: list[int]) -> int:
        return len(xs)

    assert await sizes(range(1000)).collect() == [100] * 10


async def test_a_badly_typed_source_value_is_skipped_alone() -> None:
    @single_task(on_error="skip_item")
    def numbers() -> Iterator[int]:
        yield 1
        yield "two"  # type: ignore[misc]
        yield 3

    stream = numbers(check_items="all")
    assert await stream.collect() == [1, 3]
    assert stream.stats.stages[0].skipped == 1


async def test_a_failing_shared_side_input_gets_its_note_once() -> None:
    async def broken() -> int:
        raise ConnectionError("down")

    @single_task
    def add(x: int, n: int) -> int:
        return x + n

    task = add.with_inputs(n=broken())
    for _ in range(3):
        with pytest.raises(ConnectionError) as info:
            await task([1]).collect()
    assert len(info.value.__notes__) == 1


async def test_every_retry_runs_in_a_fresh_context() -> None:
    var: contextvars.ContextVar[str | None] = contextvars.ContextVar("var", default=None)
    seen: list[str | None] = []

    @single_task(retry_attempts=3, retry_delay=0)
    async def flaky(x: int) -> int:
        seen.append(var.get())
        var.set("left behind by an earlier attempt")
        await asyncio.sleep(0)
        if len(seen) < 3:
            raise OSError("flaky")
        return x

    assert await flaky([1]).collect() == [1]
    assert seen == [None, None, None]


async def test_a_batch_stage_lets_other_tasks_run() -> None:
    ticks = 0
    stop = False

    async def ticker() -> None:
        nonlocal ticks
        while not stop:
            ticks += 1
            await asyncio.sleep(0)

    @batch_task(max_size=2)
    def pairs(xs: list[int]) -> int:
        return sum(xs)

    other = asyncio.create_task(ticker())
    await pairs(range(20_000), max_in_flight=None).collect()
    stop = True
    await other
    assert ticks > 10


async def test_source_stats() -> None:
    @single_task
    async def one() -> int:
        return 1

    stream = one()
    await stream.collect()
    stage = stream.stats.stages[0]
    assert (stage.items_in, stage.items_out, stage.calls, stage.finished_calls) == (0, 1, 1, 1)


async def test_two_concurrent_readers_is_a_clear_error() -> None:
    @single_task
    async def slow(x: int) -> int:
        await asyncio.sleep(0.05)
        return x

    stream = slow([1, 2])
    first = asyncio.create_task(anext(stream))
    await asyncio.sleep(0.01)
    with pytest.raises(RuntimeError, match="one reader at a time"):
        await anext(stream)
    assert await first == 1
    await stream.aclose()


async def test_items_carried_downstream_wait_for_that_stage_side_inputs() -> None:
    gate = asyncio.Event()

    async def slow_offset() -> int:
        await gate.wait()
        return 100

    @single_task
    async def first(x: int) -> int:
        await asyncio.sleep(0.001)
        if x == 5:
            gate.set()
        return x

    @single_task
    async def second(x: int, offset: int) -> int:
        await asyncio.sleep(0)
        return x + offset

    pipeline = first | second.with_inputs(offset=slow_offset())
    assert await asyncio.wait_for(pipeline(range(10)).collect(), 10) == [x + 100 for x in range(10)]


async def test_ordered_output_with_carried_calls_and_tight_limits() -> None:
    @single_task
    async def jitter(x: int) -> int:
        await asyncio.sleep(0.001 * (x % 4))
        return x

    @single_task(concurrency_limit=2)
    async def limited(x: int) -> int:
        await asyncio.sleep(0.001 * (3 - x % 4))
        return x

    for window in (1, 2, 3, None):
        assert await (jitter | limited | jitter)(range(60), max_in_flight=window).collect() == list(range(60))


async def test_concurrency_limit_holds_when_the_pump_yields_to_the_loop() -> None:
    """A carrying task must not take the room between the pump's check and its start."""
    gate = asyncio.Event()
    running = peak = 0

    @single_task
    async def first(x: int) -> int:
        if x == 0:
            await gate.wait()
        return x

    @single_task(concurrency_limit=1)
    async def limited(x: int) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        try:
            if x == 127:
                gate.set()  # the next turn of limited's pump is its periodic yield
            if x >= 128 or x == 0:
                await asyncio.sleep(0.001)
            return x
        finally:
            running -= 1

    out = await asyncio.wait_for((first | limited).as_completed(range(300)).collect(), 20)
    assert sorted(out) == list(range(300))
    assert peak == 1


def test_a_consumer_error_under_asyncio_run_leaves_no_unawaited_coroutine() -> None:
    """asyncio.run cancels the leftover tasks itself; none may drop a user coroutine unawaited."""

    @single_task
    async def wobble(x: int) -> int:
        await asyncio.sleep(0.0005 * (x % 3))
        return x

    @single_task
    async def ident(x: int) -> int:
        return x

    async def main(threshold: int) -> None:
        async for x in (wobble | ident).as_completed(range(1000), max_in_flight=20):
            if x >= threshold:
                raise KeyError("consumer bug")

    for threshold in range(50, 200, 13):  # pytest turns an unraisable warning into an error
        with pytest.raises(KeyError):
            asyncio.run(main(threshold))


async def test_a_base_exception_from_a_carried_call_stops_the_run() -> None:
    class Abort(BaseException):
        pass

    @single_task
    async def first(x: int) -> int:
        await asyncio.sleep(0.001)
        if x == 20:
            raise Abort(x)
        return x

    @single_task
    def second(x: int) -> int:
        return x

    with pytest.raises(Abort):
        await asyncio.wait_for((first | second)(range(40)).collect(), 10)
    assert not await settle()


class _Abort(BaseException):
    """A user's own BaseException: not a failure of one call, so it stops the run."""


@pytest.mark.parametrize("where", ["adopted first step", "retry attempt"])
async def test_a_base_exception_anywhere_stops_the_run(where: str) -> None:
    attempts: dict[int, int] = {}

    @single_task
    async def first(x: int) -> int:
        await asyncio.sleep(0.001)  # its task finishes the call, then carries on into second
        return x

    @single_task(retry_attempts=2, retry_delay=0.001)
    async def second(x: int) -> int:
        attempts[x] = attempts.get(x, 0) + 1
        if x == 5:
            if where == "adopted first step":
                raise _Abort(x)  # before any await: raised inside the adopting task's start
            if attempts[x] == 1:
                raise ValueError("transient")
            raise _Abort(x)  # in the retry attempt
        await asyncio.sleep(0)
        return x

    with pytest.raises(_Abort):
        await asyncio.wait_for((first | second)(range(10)).collect(), 10)
    assert not await settle()
