"""One run of a pipeline: wires stages together, supervises their tasks, ends cleanly.

The run owns every asyncio task it starts (pumps, calls, retries). The first
failure wins: it is recorded, all work is cancelled, and the consumer receives
that original exception (with conveyor's notes) once nothing of the run is left
pending. Cancelling or closing the stream cancels everything the same way.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from conveyor.runtime.checks import checker_for
from conveyor.runtime.inputs import EMPTY, END, Outlet, awaited, open_input
from conveyor.runtime.limits import RunOptions
from conveyor.runtime.stats import RunStats, StageStats
from conveyor.runtime.outcomes import log
from conveyor.runtime.stage import Stage

if TYPE_CHECKING:
    from conveyor.pipeline import Pipeline

__all__ = ["Run"]


class Run:
    def __init__(self, pipeline: Pipeline[Any, Any], data: Any, options: RunOptions) -> None:
        self.pipeline = pipeline
        self.stages = pipeline.stages
        self.data = data
        self.options = options
        self.stats = RunStats([StageStats(task.name) for task in self.stages])
        self.error: BaseException | None = None
        self.state = "not started"
        self.tasks: set[asyncio.Task[Any]] = set()
        self._outlet: Outlet | None = None
        self._reading = False  # a consumer is inside next(): one reader at a time
        self._last: Stage | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def start(self) -> None:
        """Build the stages and start their pumps (inside the running event loop)."""
        self._loop = asyncio.get_running_loop()
        self.state = "running"
        is_source = bool(self.stages) and self.stages[0].is_source
        outlet: Outlet = open_input(self.data, source=is_source)
        options = self.options
        for index, task in enumerate(self.stages):
            edge_type = self.pipeline.junctions[index + 1].produced
            stage = Stage(
                self, task, outlet,
                ordered=options.ordered,
                max_in_flight=options.max_in_flight,
                checker=checker_for(task, edge_type, options.check_items),
                stats=self.stats.stages[index],
            )
            self.spawn(stage.pump())
            if self._last is not None:
                self._last.downstream = stage
            outlet = stage
            self._last = stage
        self._outlet = outlet

    def spawn(self, work: Awaitable[Any], context: contextvars.Context | None = None) -> asyncio.Task[Any]:
        """Start a task the run owns (cancelled with the run)."""
        if not asyncio.iscoroutine(work):
            work = awaited(work)  # a Future or other awaitable returned by a user function
        task = self._loop.create_task(work, context=context)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    @property
    def stopping(self) -> bool:
        """True once the run failed or was closed: no new work may start."""
        return self.error is not None or self.state == "closed"

    async def next(self) -> Any:
        """The next result; raises StopAsyncIteration at the end, or the run's error."""
        if self.error is not None and self.state != "failed":
            await self._raise_error()
        if self.state != "running":
            raise StopAsyncIteration
        if self._reading:
            raise RuntimeError("this stream is already being read by another task: one reader at a time")
        assert self._outlet is not None
        self._reading = True
        try:
            item = self._outlet.get_nowait()
            if item is EMPTY:
                item = await self._outlet.get()
        except Exception as exc:  # only the input adapter raises here (no stages)
            self.fail(exc)
            item = END
        finally:
            self._reading = False
        if self.error is not None:
            await self._raise_error()
        if item is END:
            if self.state == "running":
                self.state = "finished"
            raise StopAsyncIteration
        self.stats.delivered += 1
        return item

    async def _raise_error(self) -> None:
        error = self.error
        assert error is not None
        await self.aclose()
        self.state = "failed"
        raise error

    def fail(self, error: BaseException) -> None:
        """Record the first failure, cancel all work, wake the consumer."""
        if self.error is not None:
            log.debug("further failure after the run already failed: %r", error)
            return
        self.error = error
        self.cancel()

    def cancel(self) -> None:
        """Stop the run: cancel every task without waiting (safe from ``__del__``)."""
        if self.state == "running":
            self.state = "closed"
        for task in list(self.tasks):
            try:
                task.cancel()
            except RuntimeError:  # the loop is already closed: nothing left to run
                pass
        if self._last is not None:
            try:
                self._last.wake_reader()  # a consumer waiting in another task sees the end
            except RuntimeError:
                pass

    async def aclose(self) -> None:
        """Cancel all work and wait until every task of the run has ended."""
        current = asyncio.current_task()
        while True:
            # Cancel on every pass: work can start while we wait (a retry, a hand-over).
            self.cancel()
            # A task cancelled before its first step ends without running its cleanup,
            # so done tasks may linger in the set: only wait for the others.
            pending = [t for t in self.tasks if t is not current and not t.done()]
            if not pending:
                break
            await asyncio.wait(pending)
        self.tasks.clear()
