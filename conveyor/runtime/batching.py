"""Assembling batches for a batch task: size limits and the ``max_wait`` deadline."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Final

from conveyor.runtime.inputs import EMPTY, Outlet
from conveyor.task import BatchTask

if TYPE_CHECKING:
    from conveyor.runtime.scheduler import Run

__all__ = ["Batching", "TIMED_OUT"]

#: Returned by :meth:`Batching.next_item` when the batch became due while waiting.
TIMED_OUT: Final[Any] = object()


class Batching:
    """The batch being filled and when it is due. State survives pump hand-overs."""

    __slots__ = ("max_size", "ready_size", "max_wait", "items", "deadline", "ended", "marks_before", "marks_after", "_pending")

    def __init__(self, task: BatchTask[Any, Any]) -> None:
        self.max_size = task.max_size if task.max_size is not None else float("inf")
        self.ready_size = max(task.min_size, 1)
        self.max_wait = task.max_wait
        self.items: list[Any] = []
        self.deadline = 0.0  # loop time at which a batch of ready_size items is sent
        self.ended = False  # upstream returned END
        # Ordered branches: BOUNDARY markers met while filling this batch. A batch's
        # outputs belong to its last item, so those met before that item go out
        # before the outputs, and those met after it go out after them.
        self.marks_before = 0
        self.marks_after = 0
        self._pending: asyncio.Task[Any] | None = None  # an upstream pull that outlived a timeout

    def add(self, item: Any, now: float) -> bool:
        """Add one item; True when the batch is full."""
        if not self.items and self.max_wait is not None:
            self.deadline = now + self.max_wait
        self.items.append(item)
        if self.marks_after:
            self.marks_before += self.marks_after
            self.marks_after = 0
        return len(self.items) >= self.max_size

    def take(self) -> list[Any]:
        items, self.items = self.items, []
        return items

    async def next_item(self, upstream: Outlet, run: Run) -> Any:
        """The next upstream item, or TIMED_OUT when the current batch falls due first.

        Items already waiting upstream are taken at once: a batch is only cut short
        when the input really stalls. A timed wait never cancels the upstream pull
        (that could lose an item or break an async generator); the pull is kept and
        awaited next time.
        """
        if self._pending is None:
            item = upstream.get_nowait()
            if item is not EMPTY:
                return item
        timed = self.max_wait is not None and len(self.items) >= self.ready_size
        if not timed and self._pending is None:
            return await upstream.get()
        if self._pending is None:
            self._pending = run.spawn(upstream.get(), awaited_by_caller=True)
            self._pending.add_done_callback(_retrieve)
        timeout = max(0.0, self.deadline - run.loop.time()) if timed else None
        if timeout == 0.0:
            return TIMED_OUT
        done, _ = await asyncio.wait((self._pending,), timeout=timeout)
        if not done:
            return TIMED_OUT
        pending, self._pending = self._pending, None
        return pending.result()


def _retrieve(pull: asyncio.Task[Any]) -> None:
    """Mark a failed pull's exception as seen: the run reports it, or already failed."""
    if not pull.cancelled():
        pull.exception()
