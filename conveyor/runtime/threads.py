"""The "thread" backend's pool: worker threads that hand results to the loop in bulk.

``concurrent.futures.ThreadPoolExecutor`` plus ``asyncio.wrap_future`` costs the
event loop a Future with its Condition, two done-callbacks, a chained asyncio future
and one ``call_soon_threadsafe`` per call; with many short blocking calls the loop's
share of that work, not the threads, bounds throughput (W8). Here a call is one
tuple on a ``SimpleQueue``; a worker runs it in the caller's copied context, appends
the outcome to a shared list, and wakes the loop only when that list was empty, so
one loop callback settles every call that finished meanwhile.

Threads start with the first calls, up to ``workers``, and stay until the pool is closed.
A queued call whose future is already cancelled (the run stopped) is skipped.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections import deque
from collections.abc import Callable
from queue import SimpleQueue
from typing import Any

__all__ = ["ThreadPool"]

_STOP = None


class ThreadPool:
    def __init__(self, workers: int, loop: asyncio.AbstractEventLoop, name: str) -> None:
        self.workers = workers
        self.loop = loop
        self.name = name
        self.queue: SimpleQueue[Any] = SimpleQueue()
        self.threads: list[threading.Thread] = []
        # Outcomes for the loop. deque.append / popleft are atomic, and ``scheduled`` is
        # cleared before the loop drains, so no outcome is left behind (no lock needed).
        self.finished: deque[tuple[asyncio.Future[Any], bool, Any]] = deque()
        self.scheduled = False

    def submit(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> asyncio.Future[Any]:
        future = self.loop.create_future()
        self.queue.put((future, contextvars.copy_context(), fn, args, kwargs))
        if len(self.threads) < self.workers:  # one thread per call until the pool is full
            thread = threading.Thread(target=self._work, name=f"{self.name}_{len(self.threads)}", daemon=True)
            self.threads.append(thread)
            thread.start()
        return future

    def _work(self) -> None:
        queue, finished = self.queue, self.finished
        while True:
            job = queue.get()
            if job is _STOP:
                return
            future, context, fn, args, kwargs = job
            if future.done():  # cancelled while queued: never start it
                continue
            try:
                outcome = (future, True, context.run(fn, *args, **kwargs))
            except BaseException as exc:  # delivered to the awaiting call, whatever it is
                outcome = (future, False, exc)
            del job, future, args, kwargs  # hold nothing of a finished call while idle
            finished.append(outcome)
            del outcome
            if not self.scheduled:
                self.scheduled = True
                try:
                    self.loop.call_soon_threadsafe(self._settle)
                except RuntimeError:  # the loop is closed: nobody waits for results
                    return

    def _settle(self) -> None:
        """On the loop: settle every call that finished since the last time."""
        self.scheduled = False  # first: an outcome added from now on schedules another settle
        finished = self.finished
        while finished:
            future, ok, value = finished.popleft()
            if future.done():  # cancelled while it ran: its result goes to nobody
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    async def close(self) -> None:
        """Wait for the calls that run (a thread cannot be stopped), then end the threads.
        Queued calls were cancelled with the run, so the workers skip them."""
        threads, self.threads = self.threads, []
        for _ in threads:
            self.queue.put(_STOP)
        if threads:
            await asyncio.to_thread(_join, threads)
        self._settle()


def _join(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.join()
