"""The built-in backends: "thread", "process", and a user's concurrent.futures.Executor.

- "thread": conveyor's own pool (runtime/threads.py) made for the run,
  ``concurrency_limit`` workers (default ``min(32, cpu_count + 4)``, as
  concurrent.futures); each call runs in a copy of the caller's contextvars, as
  ``asyncio.to_thread`` does.
- "process": a ``ProcessPoolExecutor`` made for the run, ``concurrency_limit``
  workers (default ``os.cpu_count()``), multiprocessing's default start method. The
  function and the side inputs are pickled when the run starts (runtime/pickling.py);
  each call is pickled on the loop before it is sent, so an item that does not pickle
  fails its own call, and the result is pickled in the worker, so one that does not
  fails that call too, each with a note saying why. A worker that dies breaks the pool
  (concurrent.futures' ``BrokenProcessPool`` fails every call it held); later calls,
  retries included, get a fresh pool.
- a user's ``Executor``: used as it is, never shut down by conveyor. A
  ``ProcessPoolExecutor`` gets the same pickling checks; a broken one stays broken.

Closing a session cancels its queued calls, waits for the running ones (Python
cannot stop a thread, and a process call is left to finish rather than killed),
then shuts down the pool it made.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import pickle
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from conveyor.executors import Backend, Session, SessionSpec
from conveyor.runtime.pickling import check_pickles, dumps
from conveyor.runtime.threads import ThreadPool

__all__ = ["ThreadBackend", "ProcessBackend", "UserExecutorBackend", "DEFAULT_THREADS"]

#: Threads of a "thread" pool when the task sets no concurrency_limit (as concurrent.futures).
DEFAULT_THREADS = min(32, (os.cpu_count() or 1) + 4)


class PoolSession(Session):
    """Calls in a concurrent.futures executor, each awaited on the loop."""

    def __init__(self, spec: SessionSpec, pool: Executor, *, owned: bool, copy_context: bool) -> None:
        self.spec = spec
        self.pool = pool
        self.owned = owned  # made for this run: shut down at the end
        self.copy_context = copy_context
        self.pending: set[Future[Any]] = set()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Awaitable[Any]:
        if self.copy_context:
            args = (fn, *args)
            fn = contextvars.copy_context().run
        return self._track(self.pool.submit(fn, *args, **kwargs))

    def _track(self, future: Future[Any]) -> asyncio.Future[Any]:
        self.pending.add(future)
        future.add_done_callback(self.pending.discard)
        return asyncio.wrap_future(future)  # cancelling it cancels a queued call

    async def aclose(self) -> None:
        for future in list(self.pending):
            future.cancel()  # queued calls; running ones finish
        running = [asyncio.wrap_future(f) for f in self.pending if not f.done()]
        if running:  # their outcomes went to nobody (the calls were cancelled): only wait
            await asyncio.gather(*running, return_exceptions=True)
        if self.owned:
            # Join the workers (off the loop: it blocks), so what they hold is released
            # before the run returns. A shutdown without waiting first would make this
            # one return at once: the pool forgets its workers on the first shutdown.
            await asyncio.to_thread(_shut_down, self._owned_pools())

    def _owned_pools(self) -> list[Executor]:
        return [self.pool]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of task {self.spec.task_name!r}>"


class ProcessSession(PoolSession):
    """Calls in worker processes: pickled on the loop, results pickled in the worker."""

    def __init__(self, spec: SessionSpec, pool: Executor, *, owned: bool) -> None:
        super().__init__(spec, pool, owned=owned, copy_context=False)
        self.old_pools: list[Executor] = []  # broken pools replaced during the run

    async def share(self, param: str, value: Any) -> Any:
        check_pickles(value, self.spec.task_name, f"side input {param!r}")
        return value

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Awaitable[Any]:
        try:
            payload = dumps((fn, args, kwargs))
        except Exception as exc:
            exc.add_note(
                f"conveyor: task {self.spec.task_name!r} runs in worker processes, so each call's "
                f"item is pickled; this item does not pickle (the function and side inputs were "
                f"checked when the run started)"
            )
            raise
        try:
            future = self.pool.submit(_run_pickled, payload)
        except BrokenProcessPool:
            if not self.owned:
                raise
            self._replace_pool()  # a worker died earlier: later calls get a fresh pool
            future = self.pool.submit(_run_pickled, payload)
        return self._result(self._track(future))

    async def _result(self, future: asyncio.Future[bytes]) -> Any:
        try:
            payload = await future
        except BrokenProcessPool as exc:
            exc.add_note(
                f"conveyor: a worker process of task {self.spec.task_name!r} died (os._exit, a signal, "
                f"out of memory) while this call was running or queued in its pool; "
                + ("later calls use a fresh pool" if self.owned
                   else "the executor was passed in, so conveyor does not replace it")
            )
            raise
        return pickle.loads(payload)

    def _replace_pool(self) -> None:
        self.old_pools.append(self.pool)
        self.pool = ProcessPoolExecutor(max_workers=_workers(self.spec, os.cpu_count() or 1))

    def _owned_pools(self) -> list[Executor]:
        return [self.pool, *self.old_pools]


def _run_pickled(payload: bytes) -> bytes:
    """In the worker: unpickle one call, run it, pickle its result here, so that a result
    that does not pickle fails this call with a note (not the pool)."""
    fn, args, kwargs = pickle.loads(payload)
    result = fn(*args, **kwargs)
    try:
        return dumps(result)
    except Exception as exc:
        exc.add_note(
            "conveyor: the call's result does not pickle, so it cannot come back from the worker "
            "process; return plain data (or use executor='thread')"
        )
        raise


def _shut_down(pools: list[Executor]) -> None:
    for pool in pools:
        pool.shutdown(wait=True, cancel_futures=True)


def _workers(spec: SessionSpec, default: int) -> int:
    return spec.concurrency_limit if spec.concurrency_limit is not None else default


class ThreadSession(Session):
    """Calls in conveyor's own thread pool (runtime/threads.py), made for the run."""

    def __init__(self, spec: SessionSpec, pool: ThreadPool) -> None:
        self.spec = spec
        self.pool = pool

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Awaitable[Any]:
        return self.pool.submit(fn, args, kwargs)

    async def aclose(self) -> None:
        await self.pool.close()

    def __repr__(self) -> str:
        return f"<ThreadSession of task {self.spec.task_name!r}>"


class ThreadBackend(Backend):
    label = "thread"

    async def open(self, spec: SessionSpec) -> Session:
        loop = asyncio.get_running_loop()
        return ThreadSession(spec, ThreadPool(_workers(spec, DEFAULT_THREADS), loop, f"conveyor-{spec.task_name}"))


class ProcessBackend(Backend):
    label = "process"

    async def open(self, spec: SessionSpec) -> Session:
        check_pickles(spec.fn, spec.task_name, "its function")
        pool = ProcessPoolExecutor(max_workers=_workers(spec, os.cpu_count() or 1))
        return ProcessSession(spec, pool, owned=True)


class UserExecutorBackend(Backend):
    """An executor the user made and owns (never shut down here)."""

    def __init__(self, executor: Executor) -> None:
        self.executor = executor
        self.label = type(executor).__name__

    async def open(self, spec: SessionSpec) -> Session:
        if isinstance(self.executor, ProcessPoolExecutor):
            check_pickles(spec.fn, spec.task_name, "its function")
            return ProcessSession(spec, self.executor, owned=False)
        # Threads share the caller's memory: give them its context, as to_thread does.
        return PoolSession(spec, self.executor, owned=False, copy_context=isinstance(self.executor, ThreadPoolExecutor))
