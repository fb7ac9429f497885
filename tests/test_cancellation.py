"""Breaking out, cancelling the consumer, closing: all in-flight work stops cleanly."""

from __future__ import annotations

import asyncio
import gc

import pytest

from conveyor import single_task
from tests.helpers import settle

cancelled: list[int] = []
started: list[int] = []


@single_task
async def slow(x: int) -> int:
    started.append(x)
    try:
        await asyncio.sleep(0 if x == 0 else 30)
    except asyncio.CancelledError:
        cancelled.append(x)
        raise
    return x


@pytest.fixture(autouse=True)
def _reset() -> None:
    cancelled.clear()
    started.clear()


async def test_breaking_out_of_async_for_cancels_in_flight_work() -> None:
    async for x in (slow | slow)(range(10)):
        assert x == 0
        break
    gc.collect()
    assert not await settle()
    assert sorted(set(cancelled)) == sorted(set(started) - {0})
    assert len(set(cancelled)) >= 1


async def test_async_with_closes_the_run() -> None:
    async with slow(range(5)) as stream:
        assert await anext(stream) == 0
    assert not await settle(timeout=0.5)


async def test_aclose_waits_for_everything() -> None:
    stream = slow(range(5))
    assert await anext(stream) == 0
    await stream.aclose()
    me = asyncio.current_task()
    assert not [t for t in asyncio.all_tasks() if t is not me and not t.done()]


async def test_cancelling_the_consumer_cancels_the_run() -> None:
    async def consume() -> list[int]:
        return await slow(range(5)).collect()

    consumer = asyncio.create_task(consume())
    await asyncio.sleep(0.05)
    consumer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await consumer
    assert not await settle()
    assert sorted(cancelled) == [x for x in sorted(started) if x != 0]
    assert len(cancelled) >= 1


async def test_timeout_around_collect_cancels_the_run() -> None:
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(slow(range(3)).collect(), timeout=0.05)
    assert not await settle()


async def test_stream_after_error_is_finished() -> None:
    @single_task
    def bad(x: int) -> int:
        raise ValueError(x)

    stream = bad([1, 2])
    with pytest.raises(ValueError):
        await anext(stream)
    with pytest.raises(StopAsyncIteration):
        await anext(stream)


def test_runs_under_asyncio_run_leave_no_warnings() -> None:
    """A full asyncio.run that breaks early: no 'Task was destroyed' or 'never retrieved'."""

    async def main() -> int:
        async for x in (slow | slow)(range(100)):
            return x
        return -1

    assert asyncio.run(main()) == 0
