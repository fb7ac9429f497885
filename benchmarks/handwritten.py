"""The hand-written streaming baseline: a careful plain-asyncio pipeline, no conveyor.

This is what a competent engineer would write by hand for "stream items through
async stages, keep input order, bound memory":

- every stage is one worker task; stages are joined by a bounded ``asyncio.Queue``;
- the worker starts one asyncio task per item (or per batch) and puts that *task* on
  its output queue, in input order. The next worker awaits the task at the head of
  the queue, so order is kept without a separate reorder buffer (the FIFO of tasks is
  the reorder step) while up to ``max_in_flight`` calls of a stage run at once;
- the queue bound is the backpressure: a stage holds at most ``max_in_flight + 1``
  items (for a batch stage the bound is counted in items, i.e. batches * max_size);
- workers run in an ``asyncio.TaskGroup``: an error in any call surfaces in the worker
  that awaits it, and the group cancels the rest.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterable, Awaitable, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["Single", "Batch", "consume", "collect"]

_END: Final[Any] = object()

#: The output side of a stage: a bounded queue of per-call tasks, then ``_END``.
Outbox = asyncio.Queue[Any]
#: Returns the next input value, or ``_END``.
Getter = Callable[[], Awaitable[Any]]


@dataclass(frozen=True)
class Single:
    """A stage calling ``fn`` once per item."""

    fn: Callable[[Any], Coroutine[Any, Any, Any]]


@dataclass(frozen=True)
class Batch:
    """A stage calling ``fn`` with lists of up to ``max_size`` items; a returned list fans out."""

    fn: Callable[[list[Any]], Coroutine[Any, Any, list[Any]]]
    max_size: int


StageSpec = Single | Batch


async def consume(
    data: Iterable[Any] | AsyncIterable[Any],
    stages: Sequence[StageSpec],
    sink: Callable[[Any], object],
    *,
    max_in_flight: int = 1024,
) -> None:
    """Run ``data`` through ``stages`` and hand every output, in input order, to ``sink``."""
    async with asyncio.TaskGroup() as group:
        get = _source(data)
        for spec in stages:
            if isinstance(spec, Single):
                outbox: Outbox = asyncio.Queue(max_in_flight)
                group.create_task(_single_worker(spec.fn, get, outbox))
                get = _reader(outbox)
            else:
                outbox = asyncio.Queue(max(1, max_in_flight // spec.max_size))
                group.create_task(_batch_worker(spec, get, outbox))
                get = _fan_out_reader(outbox)
        while (value := await get()) is not _END:
            sink(value)


async def collect(
    data: Iterable[Any] | AsyncIterable[Any], stages: Sequence[StageSpec], *, max_in_flight: int = 1024
) -> list[Any]:
    results: list[Any] = []
    await consume(data, stages, results.append, max_in_flight=max_in_flight)
    return results


async def _single_worker(fn: Callable[[Any], Coroutine[Any, Any, Any]], get: Getter, outbox: Outbox) -> None:
    while (value := await get()) is not _END:
        await outbox.put(asyncio.create_task(fn(value)))
    await outbox.put(_END)


async def _batch_worker(spec: Batch, get: Getter, outbox: Outbox) -> None:
    batch: list[Any] = []
    while (value := await get()) is not _END:
        batch.append(value)
        if len(batch) == spec.max_size:
            await outbox.put(asyncio.create_task(spec.fn(batch)))
            batch = []
    if batch:
        await outbox.put(asyncio.create_task(spec.fn(batch)))
    await outbox.put(_END)


def _source(data: Iterable[Any] | AsyncIterable[Any]) -> Getter:
    if isinstance(data, AsyncIterable):
        iterator = aiter(data)

        async def get_async() -> Any:
            return await anext(iterator, _END)

        return get_async
    items = iter(data)

    async def get_sync() -> Any:
        return next(items, _END)

    return get_sync


def _reader(outbox: Outbox) -> Getter:
    async def get() -> Any:
        call = await outbox.get()
        return _END if call is _END else await call

    return get


def _fan_out_reader(outbox: Outbox) -> Getter:
    buffered: deque[Any] = deque()

    async def get() -> Any:
        while not buffered:
            call = await outbox.get()
            if call is _END:
                return _END
            buffered.extend(await call)
        return buffered.popleft()

    return get
