"""Sessions on concurrent.futures-style pools: a user's ``Executor`` (``PoolSession``)
and conveyor's own thread pool (``ThreadSession``); the process session builds on
``PoolSession`` (runtime/processes.py).

- "thread": conveyor's own pool (runtime/threads.py) made for the run,
  ``concurrency_limit`` workers (default ``min(32, cpu_count + 4)``, as
  concurrent.futures); each call runs in a copy of the caller's contextvars, as
  ``asyncio.to_thread`` does.
- a user's ``Executor``: used as it is, never shut down by conveyor; a
  ``ThreadPoolExecutor``'s calls get the caller's contextvars too.

Closing a session cancels its queued calls, waits for the running ones (Python
cannot stop a thread, and a process call is left to finish rather than killed),
then shuts down the pool it made.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor, Future
from typing import Any

from conveyor.executors import Session, SessionSpec
from conveyor.runtime.threads import ThreadPool

__all__ = ["PoolSession", "ThreadSession", "pool_size", "DEFAULT_THREADS"]

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
        # A snapshot: the pool's thread drops finished futures from the set meanwhile.
        running = [asyncio.wrap_future(f) for f in list(self.pending) if not f.done()]
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


def _shut_down(pools: list[Executor]) -> None:
    for pool in pools:
        pool.shutdown(wait=True, cancel_futures=True)


def pool_size(spec: SessionSpec, default: int) -> int:
    """The workers of a pool conveyor makes: the task's concurrency_limit, else ``default``."""
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
