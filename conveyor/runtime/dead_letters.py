"""Running dead letters: the records of final failures, the bounded inlets of the
run's dead-letter branches, the outlet that ends only after those branches have,
and ``Failures`` (``stream.failures``), the records no branch took.

Shape at run time: each distinct dead-letter branch (however many tasks share it)
is one chain of ordinary stages reading a `DeadLetterInlet`; a drain task per branch
pulls its outputs and drops them, as a ``tee`` side branch's are. A failing stage
offers its records to the inlet: with room they go in at once and the call ends;
without, the call stays open in its stage (holding its room there, so the stage
stops pulling and the source is held back) until the branch takes the records, in
the order they were offered. Nothing of this runs unless a task has a branch.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, overload

from conveyor.dead_letters import Failed
from conveyor.runtime.inputs import EMPTY, END, Outlet, WaitingOutlet
from conveyor.runtime.outcomes import log

if TYPE_CHECKING:
    from conveyor.runtime.calls import Slot
    from conveyor.runtime.scheduler import Run
    from conveyor.runtime.stage import Stage
    from conveyor.task import Task

__all__ = ["FAILURES_KEPT", "Failures", "DeadLetterInlet", "DeadLetterOutlet", "records_for"]

#: ``stream.failures`` keeps this many records in full; past it, only the count grows.
FAILURES_KEPT = 10_000


def records_for(task: Task[Any, Any], item: Any, error: Exception, attempts: int, path: str) -> list[Failed[Any]]:
    """The records of one failed call: one, or one per item of a failed batch."""
    now = datetime.now(timezone.utc)
    if task.kind != "batch":
        return [Failed(item, error, task.name, attempts, now, None, path)]
    batch = tuple(item)
    return [Failed(one, error, task.name, attempts, now, batch, path) for one in batch]


class Failures(Sequence[Failed[Any]]):
    """The final failures of a run that no dead-letter branch took (items skipped by
    ``on_error``, dropped by an error handler, or the one that stopped the run), in
    the order they happened.

    The first ``FAILURES_KEPT`` records are kept in full, so that memory stays bounded
    however many items fail; ``total`` counts them all and ``dropped`` the records
    not kept (a warning is logged once when the first one is dropped). To keep every
    failure whatever their number, give the pipeline a dead-letter branch.
    """

    __slots__ = ("_kept", "total", "limit")

    def __init__(self, limit: int = FAILURES_KEPT) -> None:
        self._kept: list[Failed[Any]] = []
        self.total = 0
        self.limit = limit

    def add(self, records: list[Failed[Any]]) -> None:
        for record in records:
            self.total += 1
            if len(self._kept) < self.limit:
                self._kept.append(record)
            elif self.total == self.limit + 1:
                log.warning(
                    "stream.failures keeps the first %d failure records; later ones are only counted "
                    "(give the pipeline a dead-letter branch to keep them all)", self.limit,
                )

    @property
    def dropped(self) -> int:
        """Failures counted in ``total`` whose records were not kept."""
        return self.total - len(self._kept)

    @overload
    def __getitem__(self, index: int) -> Failed[Any]: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Failed[Any]]: ...

    def __getitem__(self, index: int | slice) -> Failed[Any] | Sequence[Failed[Any]]:
        return self._kept[index]

    def __len__(self) -> int:
        return len(self._kept)

    def __iter__(self) -> Iterator[Failed[Any]]:
        return iter(self._kept)

    def __repr__(self) -> str:
        more = f", {self.dropped} more not kept" if self.dropped else ""
        return f"<Failures: {len(self._kept)} record(s){more}>"


class DeadLetterInlet(WaitingOutlet):
    """The bounded inlet of one dead-letter branch. Records that find it full wait in
    ``backlog`` with the call they belong to, which ends once they are taken in."""

    __slots__ = ("run", "items", "capacity", "closed", "backlog", "_reader")

    def __init__(self, run: Run, capacity: float) -> None:
        self.run = run
        self.items: deque[Failed[Any]] = deque()
        self.capacity = capacity
        self.closed = False
        self.backlog: deque[tuple[list[Failed[Any]], Stage, Slot]] = deque()
        self._reader: asyncio.Future[None] | None = None

    def offer(self, records: list[Failed[Any]], stage: Stage, slot: Slot) -> None:
        """Take ``records`` now and end the call, or keep both until there is room."""
        if self.backlog or len(self.items) >= self.capacity:
            self.backlog.append((records, stage, slot))
            return
        self.items.extend(records)  # a batch's records go in together (may overshoot by one batch)
        stage._finish(slot, [])
        self.wake_reader()

    def get_nowait(self) -> Any:
        if self.items:
            record = self.items.popleft()
            if self.backlog and len(self.items) < self.capacity:
                self._admit()
            return record
        return END if self.closed and not self.backlog else EMPTY

    def _admit(self) -> None:
        records, stage, slot = self.backlog.popleft()
        self.items.extend(records)
        if not self.run.stopping:
            stage._finish(slot, [])  # the waiting call ends: its stage may pull again

    def close(self) -> None:
        self.closed = True
        self.wake_reader()


class DeadLetterOutlet(WaitingOutlet):
    """What the consumer reads when the run has dead-letter branches: the main line's
    items, then END once every dead-letter branch has taken and finished its last
    record (the main line ending means no stage can fail any more)."""

    def __init__(self, run: Run, main: Outlet, inlets: list[DeadLetterInlet], ends: list[Outlet]) -> None:
        self.run = run
        self.main = main
        self.inlets = inlets
        self.ends = ends
        self.main_done = False
        self.drained = 0
        self._reader: asyncio.Future[None] | None = None

    def start(self) -> None:
        for end in self.ends:
            self.run.spawn(self._drain(end))

    async def _drain(self, end: Outlet) -> None:
        run = self.run
        while not run.stopping:
            item = end.get_nowait()
            if item is EMPTY:
                item = await end.get()
            if item is END:
                break
        if run.stopping:
            return
        self.drained += 1
        self.wake_reader()

    def get_nowait(self) -> Any:
        if not self.main_done:
            item = self.main.get_nowait()
            if item is not END:
                return item
            self._main_ended()
        return END if self.drained == len(self.ends) else EMPTY

    async def get(self) -> Any:
        if not self.main_done:
            item = await self.main.get()
            if item is not END:
                return item
            self._main_ended()
        return await super().get()

    def _main_ended(self) -> None:
        self.main_done = True
        for inlet in self.inlets:
            inlet.close()

    def wake_reader(self) -> None:
        wake = getattr(self.main, "wake_reader", None)
        if wake is not None:
            wake()
        super().wake_reader()
