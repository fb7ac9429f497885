"""Assembling batches for a batch task: size limits and the ``max_wait`` deadline."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Final

from conveyor.runtime.groups import BOUNDARY
from conveyor.runtime.inputs import EMPTY, Outlet
from conveyor.task import BatchTask

if TYPE_CHECKING:
    from conveyor.runtime.scheduler import Run

__all__ = ["Batching", "MarkedBatch", "TIMED_OUT"]

#: Returned by ``Batching.next_item`` when the batch became due while waiting.
TIMED_OUT: Final[Any] = object()


class Batching:
    """The batch being filled and when it is due. State survives pump hand-overs."""

    __slots__ = ("max_size", "ready_size", "max_wait", "items", "deadline", "ended", "marks", "marked", "_pending")

    def __init__(self, task: BatchTask[Any, Any], *, marked: bool = False) -> None:
        self.max_size = task.max_size if task.max_size is not None else float("inf")
        self.ready_size = max(task.min_size, 1)
        self.max_wait = task.max_wait
        self.items: list[Any] = []
        self.deadline = 0.0  # loop time at which a batch of ready_size items is sent
        self.ended = False  # upstream returned END
        # Ordered branches (``marked``): for each input item whose outputs ended while
        # this batch filled, how many of the batch's items came before the end (see
        # MarkedBatch and runtime/groups.py).
        self.marked = marked
        self.marks: list[int] = []
        self._pending: asyncio.Task[Any] | None = None  # an upstream pull that outlived a timeout

    def add(self, item: Any, now: float) -> bool:
        """Add one item; True when the batch is full."""
        if not self.items and self.max_wait is not None:
            self.deadline = now + self.max_wait
        self.items.append(item)
        return len(self.items) >= self.max_size

    def take(self) -> list[Any]:
        items, self.items = self.items, []
        if self.marked:
            marked, self.marks = MarkedBatch(items, self.marks), []
            return marked
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


class MarkedBatch(list[Any]):
    """A batch in an ordered branch, with the item boundaries met while it filled.

    When the call is done, :meth:`place` puts the boundaries among its outputs: a
    result with one output per item keeps each output with its item; any other
    result belongs to the batch's last item. Either way every boundary goes on.
    """

    __slots__ = ("marks",)

    def __init__(self, items: list[Any], marks: list[int]) -> None:
        super().__init__(items)
        self.marks = marks

    def place(self, outputs: list[Any]) -> list[Any]:
        marks, size = self.marks, len(self)
        if len(outputs) == size:
            placed: list[Any] = []
            waiting = iter(marks)
            mark = next(waiting, None)
            for index, output in enumerate(outputs, 1):
                placed.append(output)
                while mark is not None and mark <= index:
                    placed.append(BOUNDARY)
                    mark = next(waiting, None)
            while mark is not None:  # (never: a mark counts at most the batch's items)
                placed.append(BOUNDARY)
                mark = next(waiting, None)
            return placed
        before = sum(1 for m in marks if m < size)
        return [BOUNDARY] * before + outputs + [BOUNDARY] * (len(marks) - before)


def _retrieve(pull: asyncio.Task[Any]) -> None:
    """Mark a failed pull's exception as seen: the run reports it, or already failed."""
    if not pull.cancelled():
        pull.exception()
