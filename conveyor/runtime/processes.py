"""The "process" backend's session: calls pickled on the loop, sent to the pool in
batches, run in the worker processes one by one.

Why batches: a call sent to a process pool costs a round trip (pickling, two pipes,
the pool's thread, a loop callback) of 100 to 200 µs of the parent's CPU, taken from
the same cores as the workers, and leaves the worker idle while its next call is on
the way. Calls that take a few milliseconds lose several percent of the pool to it,
calls of 100 µs most of it. So the session keeps the calls a stage has started in a
queue of its own and sends them as batches, sized from how long calls have taken so
far (``BATCH_SECONDS`` of work per batch, as joblib's automatic batch size does):

- until the first batch has come back, and for a task with a ``timeout``, a batch
  is one call, so nothing waits behind a call of unknown length (a call's time limit
  counts from its start, and a sibling in its batch would count against it); so too
  in a pool with ``max_tasks_per_child``, which counts batches as its tasks;
- a batch takes no more than its share of the queue (the queue over the workers),
  so the calls spread over every worker;
- ``2 x workers`` batches are in the pool at a time, so a worker that finishes finds
  its next batch in its pipe.
- a batch stops once its calls have taken twice ``BATCH_SECONDS`` (calls that turned
  slow mid-stream): the calls it had no time for come back unstarted and go first in
  the queue again, so no call waits behind a batch sized for quicker ones.

The function and the side inputs are pickled once per run, not per call: the
session keeps them in a table, which every batch carries as bytes pickled once and
each worker process unpickles once per run (``_TABLES``; in a pool the user passed
in, which outlives the run, once per batch, so that nothing of the run stays in its
workers); a call refers to them by small handles (``Shared``, runtime/process_worker.py). Per call only the
item and the result are pickled, with multiprocessing's pickler (so the reducers
registered with it apply, as in the pool).

Each call keeps its own outcome: the worker runs the calls of a batch one after the
other and sends back, for each, its pickled result or its pickled exception (with the
worker's traceback as ``__cause__``, as concurrent.futures does). A call that does not
pickle fails alone, on the loop; a result that does not pickle fails its call, in the
worker. A call cancelled while it waits in the queue is never sent. A worker that dies
breaks the pool (concurrent.futures' ``BrokenProcessPool``): the calls of every batch
in it fail, each with its own copy of the error; calls still queued here, and later
ones, go to a fresh pool (a pool the user passed in is not replaced: they fail too).
"""

from __future__ import annotations

import asyncio
import os
import pickle
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from conveyor.executors import SessionSpec, one_per_call
from conveyor.runtime.pickling import check_pickles, dumps
from conveyor.runtime.process_worker import Outcome, Shared, WorkerTraceback, all_plain, quick_dumps, run_batch
from conveyor.runtime.pools import PoolSession, pool_size

__all__ = ["ProcessSession", "WorkerTraceback", "BATCH_SECONDS", "MAX_BATCH"]

#: The work a batch of calls aims at, from the mean time of the calls so far.
BATCH_SECONDS = 0.02
#: The most calls in one batch, however short they are.
MAX_BATCH = 512
_SMOOTHING = 0.3  # weight of the latest batch in the mean time per call
#: A batch whose calls have taken this long stops; its calls not yet run come back
#: unrun and are sent again (calls that turned slow mid-stream).
_BATCH_BUDGET = 2 * BATCH_SECONDS
#: Batches in the pool per worker: one running, one waiting in its pipe.
_BATCHES_PER_WORKER = 2


class _Call:
    __slots__ = ("payload", "waiter", "batch")

    def __init__(self, payload: bytes, waiter: asyncio.Future[Outcome]) -> None:
        self.payload = payload
        self.waiter = waiter
        self.batch: _Batch | None = None  # once sent


class _Batch:
    __slots__ = ("future", "calls")

    def __init__(self, future: Future[Any], calls: list[_Call]) -> None:
        self.future = future  # the pool's
        self.calls = calls


class ProcessSession(PoolSession):
    """Calls in worker processes, sent in batches (see the module's docstring)."""

    def __init__(self, spec: SessionSpec, pool: Executor, *, owned: bool) -> None:
        super().__init__(spec, pool, owned=owned, copy_context=False)
        self.loop = asyncio.get_running_loop()
        self.old_pools: list[Executor] = []  # broken pools replaced during the run
        self.workers = _workers_of(pool)
        self.room = _BATCHES_PER_WORKER * self.workers  # batches in the pool at once
        # One call per batch: for a time limit (a sibling ahead in a batch would count
        # against it), and for a pool that counts its tasks (max_tasks_per_child).
        self.one_by_one = spec.timeout is not None or bool(getattr(pool, "_max_tasks_per_child", None))
        self.queued: deque[_Call] = deque()  # started by the stage, not sent yet
        self.sent = 0  # batches in the pool
        self.per_call: float | None = None  # mean seconds of a call in a worker, so far
        self.closed = False
        # What every call shares, sent with each batch and unpickled once per worker.
        self.token = uuid.uuid4().hex
        self.table: list[Any] = [spec.fn]
        self.fn_handle = Shared(self.token, 0)
        self.table_bytes: bytes | None = None  # pickled at the first call

    async def share(self, param: str, value: Any) -> Any:
        check_pickles(value, self.spec.task_name, f"side input {param!r}")
        self.table.append(value)
        self.table_bytes = None
        return Shared(self.token, len(self.table) - 1)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Awaitable[Any]:
        if args and args[0] is self.spec.fn:
            args = (self.fn_handle, *args[1:])  # run_call(fn, ...): the function by its handle
        try:
            payload = quick_dumps((fn, args, kwargs), plain=all_plain(args) and all_plain(kwargs.values()))
        except Exception as exc:
            exc.add_note(
                f"conveyor: task {self.spec.task_name!r} runs in worker processes, so each call's "
                f"item is pickled; this item does not pickle (the function and side inputs were "
                f"checked when the run started)"
            )
            raise
        call = _Call(payload, self.loop.create_future())
        self.queued.append(call)
        if self.sent < self.room:
            self._send()
        return self._result(call)

    async def _result(self, call: _Call) -> Any:
        try:
            succeeded, data = await call.waiter
        except BrokenProcessPool as exc:
            exc.add_note(
                f"conveyor: a worker process of task {self.spec.task_name!r} died (os._exit, a signal, "
                f"out of memory) while this call was running or queued in its pool; "
                + ("later calls use a fresh pool" if self.owned
                   else "the executor was passed in, so conveyor does not replace it")
            )
            raise
        except asyncio.CancelledError:
            self._forget(call)
            raise
        value = pickle.loads(data)
        if succeeded:
            return value
        raise value

    # -- batches -----------------------------------------------------------------------------

    def _send(self) -> None:
        """Send queued calls, batch by batch, while the pool has room."""
        while self.queued and self.sent < self.room and not self.closed:
            size = self._batch_size()
            calls: list[_Call] = []
            while self.queued and len(calls) < size:
                call = self.queued.popleft()
                if not call.waiter.done():  # a cancelled call is not sent
                    calls.append(call)
            if calls:
                self._send_batch(calls)

    def _batch_size(self) -> int:
        if self.per_call is None or self.one_by_one:
            return 1
        share = -(-len(self.queued) // self.workers)
        return max(1, min(int(BATCH_SECONDS / max(self.per_call, 1e-9)), share, MAX_BATCH))

    def _send_batch(self, calls: list[_Call]) -> None:
        if self.table_bytes is None:
            self.table_bytes = dumps(self.table)  # checked piece by piece when shared
        payloads = [call.payload for call in calls]
        budget = _BATCH_BUDGET  # calls that turned slow: the rest of the batch comes back unrun
        try:
            try:
                future = self.pool.submit(run_batch, self.token, self.table_bytes, payloads, budget, self.owned)
            except BrokenProcessPool:
                if not self.owned:
                    raise
                self._replace_pool()  # a worker died earlier: these calls get a fresh pool
                future = self.pool.submit(run_batch, self.token, self.table_bytes, payloads, budget, self.owned)
        except Exception as exc:  # the pool is shut down or broken for good: these calls fail
            _fail(calls, exc)
            return
        self.sent += 1
        self.pending.add(future)
        batch = _Batch(future, calls)
        for call in calls:
            call.batch = batch
        future.add_done_callback(lambda done: self._from_pool(done, calls))

    def _from_pool(self, future: Future[Any], calls: list[_Call]) -> None:
        """In the pool's thread: hand the batch's outcome to the loop."""
        self.pending.discard(future)
        if not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._returned, future, calls)

    def _returned(self, future: Future[Any], calls: list[_Call]) -> None:
        self.sent -= 1
        if future.cancelled():
            for call in calls:
                call.waiter.cancel()
        elif (error := future.exception()) is not None:
            _fail(calls, error)
        else:
            outcomes, seconds = future.result()
            self._measured(seconds / len(outcomes))
            for call, outcome in zip(calls, outcomes):
                if not call.waiter.done():
                    call.waiter.set_result(outcome)
            unrun = calls[len(outcomes):]  # the batch ran out of time: these never started
            for call in unrun:
                call.batch = None
            self.queued.extendleft(reversed(unrun))  # ahead of later calls, in their order
        self._send()

    def _measured(self, per_call: float) -> None:
        previous = self.per_call
        self.per_call = per_call if previous is None else previous + _SMOOTHING * (per_call - previous)

    def _forget(self, call: _Call) -> None:
        """A cancelled call: a batch of cancelled calls only is taken back, if it has not started."""
        batch = call.batch
        if batch is None or batch.future.done():
            return  # still queued here (skipped when sending), or over
        if all(other.waiter.done() for other in batch.calls):
            batch.future.cancel()

    def _replace_pool(self) -> None:
        self.old_pools.append(self.pool)
        self.pool = ProcessPoolExecutor(max_workers=pool_size(self.spec, os.cpu_count() or 1))

    def _owned_pools(self) -> list[Executor]:
        return [self.pool, *self.old_pools]

    async def aclose(self) -> None:
        self.closed = True
        while self.queued:
            self.queued.popleft().waiter.cancel()
        await super().aclose()


def _fail(calls: list[_Call], error: BaseException) -> None:
    for call in calls:
        if not call.waiter.done():
            call.waiter.set_exception(one_per_call(error))


def _workers_of(pool: Executor) -> int:
    """How many calls the pool runs at once (a ProcessPoolExecutor's own count)."""
    workers = getattr(pool, "_max_workers", None)
    return workers if isinstance(workers, int) and workers > 0 else os.cpu_count() or 1
