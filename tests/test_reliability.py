"""Regression tests for the faults found by adversarial testing (issue 15): nothing
lost, nothing hung, every user ``finally`` run by the time ``aclose()`` returns."""

from __future__ import annotations

import asyncio
import gc
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from conveyor import ErrorHandler, Pipeline, batch_task, single_task
from conveyor.runtime.stage import Stage
from tests.helpers import settle


@pytest.fixture
def no_cyclic_gc() -> Iterator[None]:
    """Cleanup must not wait for the cyclic garbage collector."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def _exhausted() -> AsyncIterator[int]:
    return
    yield


# -- 1. StopIteration / StopAsyncIteration from user code are call failures ----------------


async def test_stop_async_iteration_from_a_task_fails_the_run_instead_of_truncating() -> None:
    empty = _exhausted()

    @single_task
    async def lookup(x: int) -> int:
        if x == 2:
            await anext(empty)
        return x

    stream = lookup([1, 2, 3])
    with pytest.raises(RuntimeError, match="StopAsyncIteration") as info:
        await stream.collect()
    assert isinstance(info.value.__cause__, StopAsyncIteration)
    assert any("'lookup'" in note and "item 2" in note for note in info.value.__notes__)
    assert stream.stats.stages[0].failed == 1


async def test_stop_iteration_from_a_sync_task_arrives_with_notes() -> None:
    @single_task
    def first(x: int) -> int:
        if x == 2:
            next(iter([]))
        return x

    with pytest.raises(RuntimeError, match="StopIteration") as info:
        async for _ in first([1, 2, 3]):
            pass
    assert isinstance(info.value.__cause__, StopIteration)
    assert any("'first'" in note for note in info.value.__notes__)
    assert any("'first'" in note for note in info.value.__cause__.__notes__)


async def test_stop_iteration_from_a_batch_task_is_skipped_by_policy() -> None:
    @batch_task(max_size=2, on_error="skip_batch")
    def pairs(xs: list[int]) -> list[int]:
        if 2 in xs:
            raise StopIteration
        return xs

    stream = pairs([1, 2, 3, 4, 5])
    assert await stream.collect() == [3, 4, 5]
    assert stream.stats.stages[0].skipped == 2


async def test_stop_async_iteration_is_retried_like_any_failure() -> None:
    attempts = 0

    @single_task(retry_attempts=2, retry_delay=0)
    async def flaky(x: int) -> int:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise StopAsyncIteration
        return x

    assert await flaky([7]).collect() == [7]
    assert attempts == 2


# -- 2. long chains: no recursion, no hang -------------------------------------------------


@single_task
async def step(x: int) -> int:
    await asyncio.sleep(0)
    return x + 1


async def test_a_chain_of_400_awaiting_stages_finishes() -> None:
    pipeline = Pipeline().add(*[step] * 400)
    assert await asyncio.wait_for(pipeline([1, 2, 3]).collect(), 120) == [401, 402, 403]


def _depth(n: int = 0) -> int:
    try:
        return _depth(n + 1)
    except RecursionError:
        return n


async def test_carrying_does_not_eat_the_users_recursion_room() -> None:
    @single_task
    async def last(x: int) -> int:
        await asyncio.sleep(0)
        return _depth()

    async def plain() -> int:
        await asyncio.sleep(0)
        return _depth()

    room = await asyncio.create_task(plain())
    depths = await asyncio.wait_for(Pipeline().add(*[step] * 200, last)([1, 2, 3]).collect(), 120)
    assert min(depths) > room - 60  # a constant few frames, whatever the chain's length
    assert sys.getrecursionlimit() - min(depths) < 100


async def test_an_internal_error_fails_the_run_with_a_clear_note(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: Stage, *args: Any) -> Any:
        raise KeyError("internal")

    monkeypatch.setattr(Stage, "_adopt_downstream", broken)
    with pytest.raises(KeyError) as info:
        await asyncio.wait_for((step | step)([1, 2, 3]).collect(), 30)
    assert any("internal error" in note for note in info.value.__notes__)
    assert not await settle()


# -- 3. / 4. generators are closed by the run, before aclose() returns --------------------


def _sync_data(log: list[str]) -> Iterator[int]:
    try:
        yield from range(1000)
    finally:
        log.append("data finally")


async def _async_data(log: list[str]) -> AsyncIterator[int]:
    try:
        for i in range(1000):
            yield i
    finally:
        await asyncio.sleep(0)  # a cleanup that awaits, too
        log.append("data finally")


@pytest.mark.usefixtures("no_cyclic_gc")
@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_data_generator_is_closed_by_aclose(kind: str) -> None:
    log: list[str] = []
    data = _sync_data(log) if kind == "sync" else _async_data(log)
    stream = step(data)
    assert await anext(stream) == 1
    await stream.aclose()
    assert log == ["data finally"]


@pytest.mark.usefixtures("no_cyclic_gc")
@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_data_generator_is_closed_when_the_run_fails(kind: str) -> None:
    log: list[str] = []

    @single_task
    async def fails_on_three(x: int) -> int:
        if x == 3:
            raise ValueError(x)
        return x

    data = _sync_data(log) if kind == "sync" else _async_data(log)
    with pytest.raises(ValueError):
        await fails_on_three(data).collect()
    assert log == ["data finally"]


@pytest.mark.usefixtures("no_cyclic_gc")
@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_data_generator_is_closed_soon_after_break(kind: str) -> None:
    log: list[str] = []
    data = _sync_data(log) if kind == "sync" else _async_data(log)
    async for _ in step(data):
        break
    assert not await settle()  # no task left, and no cyclic GC needed for the cleanup
    assert log == ["data finally"]


@pytest.mark.usefixtures("no_cyclic_gc")
@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_source_task_generator_cleanup_runs_before_aclose_returns(kind: str) -> None:
    log: list[str] = []

    if kind == "sync":

        @single_task
        def numbers() -> Iterator[int]:
            try:
                yield from range(1000)
            finally:
                log.append("source finally")

    else:

        @single_task
        async def numbers() -> AsyncIterator[int]:  # type: ignore[misc]
            try:
                for i in range(1000):
                    yield i
            finally:
                await asyncio.sleep(0)
                log.append("source finally")

    stream = (numbers | step)()
    assert await anext(stream) == 1
    await stream.aclose()
    assert log == ["source finally"]


# -- 5. / 6. closed and failed streams ------------------------------------------------------


async def test_a_stream_closed_before_it_started_runs_nothing() -> None:
    calls: list[int] = []

    @single_task
    async def charge(x: int) -> int:
        calls.append(x)
        return x

    stream = charge([1, 2, 3])
    await stream.aclose()
    with pytest.raises(RuntimeError, match="closed before it started"):
        await stream.collect()
    with pytest.raises(RuntimeError, match="closed before it started"):
        await anext(stream)
    await asyncio.sleep(0)
    assert calls == []


async def test_after_the_input_failed_to_start_the_stream_ends() -> None:
    class Broken:
        def __aiter__(self) -> AsyncIterator[int]:
            raise ValueError("no connection")

    stream = step(Broken())
    with pytest.raises(ValueError, match="no connection") as info:
        await anext(stream)
    assert any("input data" in note for note in info.value.__notes__)
    with pytest.raises(StopAsyncIteration):
        await anext(stream)


# -- 7. error handlers must answer (go_on, value) -------------------------------------------


async def test_an_error_handler_returning_the_wrong_shape_is_a_clear_error() -> None:
    class Sloppy(ErrorHandler):
        async def handle_error(self, error: Exception, item: Any, task_name: str, attempt: int) -> Any:
            return "ok"

    @single_task(error_handler=Sloppy())
    async def fragile(x: int) -> int:
        raise ValueError(x)

    stream = fragile([1, 2])
    with pytest.raises(TypeError, match=r"Sloppy.*'fragile'.*'ok'.*tuple"):
        await stream.collect()
    assert stream.stats.delivered == 0  # no 'k' injected into the stream


# -- 8. concurrency_limit holds per task, across runs ---------------------------------------


async def test_concurrency_limit_is_shared_by_concurrent_runs() -> None:
    now = peak = 0

    @single_task(concurrency_limit=3)
    async def call_service(x: int) -> int:
        nonlocal now, peak
        now += 1
        peak = max(peak, now)
        await asyncio.sleep(0.002)
        now -= 1
        return x

    pipeline = call_service | step
    results = await asyncio.gather(*[pipeline(range(10)).collect() for _ in range(20)])
    assert results == [[x + 1 for x in range(10)]] * 20
    assert peak == 3
    assert call_service.gate is not None and call_service.gate.running == 0


async def test_a_failed_or_abandoned_run_gives_its_room_back() -> None:
    gate_open = asyncio.Event()

    @single_task(concurrency_limit=2)
    async def slow(x: int) -> int:
        if x < 0:
            raise ValueError(x)
        await gate_open.wait()
        return x

    failing = slow([1, -1, 2])
    with pytest.raises(ValueError):
        await failing.collect()
    abandoned = slow([3, 4])
    task = asyncio.create_task(anext(abandoned))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    del abandoned
    assert not await settle()
    assert slow.gate is not None and slow.gate.running == 0
    gate_open.set()
    assert await asyncio.wait_for(slow([5, 6, 7]).collect(), 30) == [5, 6, 7]


async def test_copies_of_a_task_share_its_limit() -> None:
    @single_task(concurrency_limit=1)
    async def scaled(x: int, factor: int = 1) -> int:
        return x * factor

    assert scaled.with_inputs(factor=2).gate is scaled.gate
