"""One run of a pipeline: wires stages together, supervises their tasks, ends cleanly.

The run owns every asyncio task it starts (pumps, calls, retries). The first
failure wins: it is recorded, all work is cancelled, and the consumer receives
that original exception (with conveyor's notes) once nothing of the run is left
pending. Cancelling or closing the stream cancels everything the same way.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from conveyor.runtime.checks import input_checker_for
from conveyor.runtime.dead_letters import Failures
from conveyor.runtime.inputs import EMPTY, END, Input, Outlet, awaited, open_input
from conveyor.runtime.limits import RunOptions
from conveyor.runtime.offload import close_sessions
from conveyor.runtime.stats import RunStats, StageStats
from conveyor.runtime.outcomes import log
from conveyor.runtime.wiring import Wiring

if TYPE_CHECKING:
    from conveyor.executors import Session
    from conveyor.pipeline import Pipeline

__all__ = ["Run"]


def _deliverable(error: BaseException) -> BaseException:
    """The exception the consumer can receive for ``error``.

    A StopIteration or StopAsyncIteration raised by user code cannot travel through
    ``__anext__`` or a coroutine: it would end the stream early, or become a bare
    RuntimeError. It arrives wrapped, as Python wraps it in generators, with the
    original as ``__cause__`` and conveyor's notes on both.
    """
    if not isinstance(error, (StopIteration, StopAsyncIteration)):
        return error
    wrapper = RuntimeError(
        f"a task raised {type(error).__name__}{_args(error)}, which would silently end the stream; "
        f"it is delivered as this RuntimeError (the original is its __cause__)"
    )
    wrapper.__cause__ = error
    for note in getattr(error, "__notes__", ()):
        wrapper.add_note(note)
    return wrapper


def _args(error: BaseException) -> str:
    return f"({', '.join(map(repr, error.args))})" if error.args else ""


def blank_stats(pipeline: Pipeline[Any, Any]) -> RunStats:
    """Zeroed figures, one row per step in ``pipeline.tasks()`` order (branches included):
    the rows a run fills as it builds its stages, and what a stream shows before that."""
    return RunStats([StageStats(step.name, path=" > ".join(path)) for path, step in pipeline.tasks()])


class Run:
    def __init__(self, pipeline: Pipeline[Any, Any], data: Any, options: RunOptions) -> None:
        self.pipeline = pipeline
        self.stages = pipeline.stages
        self.data = data
        self.options = options
        self.stats = blank_stats(pipeline)  # the wiring hands each row to its stage
        self.failures = Failures()  # final failures no dead-letter branch took (stream.failures)
        self.error: BaseException | None = None
        self.state = "not started"
        #: True once the run failed or was closed: no new work may start. A plain
        #: attribute, set by cancel(): every stage reads it on the per-item path.
        self.stopping = False
        self.tasks: set[asyncio.Task[Any]] = set()
        #: Executor sessions opened by this run's tasks (runtime/offload.py), closed at the end.
        self.sessions: list[Session] = []
        self._outlet: Outlet | None = None
        self._input: Input | None = None
        self._reading = False  # a consumer is inside next(): one reader at a time
        self._peeked: Any = EMPTY  # END, seen by take_ready() and left for next()
        self._last: Outlet | None = None  # the outlet the consumer reads
        self._wiring: Wiring | None = None
        self._wind_down_task: asyncio.Task[None] | None = None
        self.loop: asyncio.AbstractEventLoop  # set by start(), inside the running loop

    def start(self) -> None:
        """Build the stages and start their pumps (inside the running event loop)."""
        self.loop = asyncio.get_running_loop()
        self.state = "running"
        is_source = bool(self.stages) and self.stages[0].is_source
        wiring = self._wiring = Wiring(self)
        first = self.stages[0].name if self.stages else None
        check = input_checker_for(first, self.pipeline.junctions[0].produced, self.options.check_items)
        try:
            self._input = open_input(self.data, source=is_source, check=check)
            outlet = wiring.chain(self.stages, self._input, self.pipeline.junctions, ordered=self.options.ordered)
            outlet = wiring.dead_letter_branches(outlet)
        except Exception as exc:  # e.g. the data's __aiter__ raised: the run fails with it
            self.fail(exc)
            return
        self._outlet = self._last = outlet

    def spawn(
        self, work: Awaitable[Any], context: contextvars.Context | None = None, *, awaited_by_caller: bool = False
    ) -> asyncio.Task[Any]:
        """Start a task the run owns (cancelled with the run).

        The run's own tasks (pumps, retries) catch every failure of user code; one
        that escapes is a bug of ours and stops the run (see `supervise`).
        A task whose result the caller awaits reports to that caller instead.
        """
        if not asyncio.iscoroutine(work):
            work = awaited(work)  # a Future or other awaitable returned by a user function
        task = self.loop.create_task(work, context=context)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard if awaited_by_caller else self.supervise)
        return task

    def supervise(self, task: asyncio.Task[Any]) -> None:
        """Done callback of the run's own tasks: an exception here is an internal error.
        It fails the run with a clear note, rather than hanging it or going unseen."""
        self.tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            self.internal_error(exc)

    def internal_error(self, exc: BaseException) -> None:
        """A failure that escaped the run's own code: a bug of ours. It fails the run
        with a clear note, rather than hanging it or going unseen."""
        if self.error is exc or isinstance(exc, (KeyboardInterrupt, SystemExit)):
            return  # already the run's error (KeyboardInterrupt & co. stop the run themselves)
        exc.add_note(
            "conveyor: internal error in the scheduler (a bug in conveyor, please report it "
            "with this traceback); the run was stopped"
        )
        self.fail(exc)

    def take_ready(self, append: Callable[[Any], None]) -> None:
        """Hand every result that is ready now to ``append`` (``collect()``'s hot path:
        no coroutine per item); ``next()`` then waits for more, ends the stream, or
        raises the run's error."""
        if self.error is not None or self.state != "running" or self._reading:
            return
        get_nowait = self._outlet.get_nowait  # type: ignore[union-attr]  # set while running
        taken = 0
        try:
            while True:
                item = get_nowait()
                if item is EMPTY:
                    break
                if item is END:
                    self._peeked = item  # next() ends the stream
                    break
                append(item)
                taken += 1
        except Exception as exc:  # only the input adapter raises here (no stages)
            self.fail(exc)  # next() raises it
        finally:
            self.stats.delivered += taken

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
            item, self._peeked = self._peeked, EMPTY
            if item is EMPTY:
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
                self._release_stages()  # the input is exhausted: nothing else to close
                if self.sessions:
                    await close_sessions(self.sessions)  # every call has ended: shut pools down
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
        self.error = _deliverable(error)
        self.cancel()

    def cancel(self) -> None:
        """Stop the run: cancel every task without waiting (safe from ``__del__``)."""
        if self.state == "running":
            self.state = "closed"
        self.stopping = True
        for task in list(self.tasks):
            try:
                task.cancel()
            except RuntimeError:  # the loop is already closed: nothing left to run
                pass
        last = self._last
        if last is not None and hasattr(last, "wake_reader"):
            try:
                last.wake_reader()  # a consumer waiting in another task sees the end
            except RuntimeError:
                pass
        self._wind_down_soon()

    async def aclose(self) -> None:
        """Cancel all work and wait until every task of the run has ended, the input
        data's iterator is closed and every user ``finally`` has run."""
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
        if self._wind_down_task is not None:
            await asyncio.shield(self._wind_down_task)  # a cancelled caller leaves it to finish

    # -- winding down: after the last task, whether or not the consumer calls aclose() --

    def _wind_down_soon(self) -> None:
        if self._wind_down_task is not None or self._input is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # dropped outside the loop (interpreter exit): best effort
            self._release_stages()
            return
        self._wind_down_task = loop.create_task(self._wind_down())

    async def _wind_down(self) -> None:
        while pending := [t for t in self.tasks if not t.done()]:
            await asyncio.wait(pending)
        inputs = [self._input, *(self._wiring.inputs if self._wiring is not None else ())]
        self._release_stages()
        if self.sessions:  # queued calls cancelled, running thread calls waited for, pools shut down
            await close_sessions(self.sessions)
        try:
            for opened in inputs:
                if opened is not None:
                    await opened.aclose()  # the user's generator runs its finally now
        except Exception as exc:
            if self.error is not None:
                log.warning("closing the pipeline's input data raised %r after the run failed", exc)
                return
            exc.add_note("conveyor: raised by the pipeline's input data while the run closed it")
            self.error = exc  # the consumer sees it next

    def _release_stages(self) -> None:
        """Give back what unfinished calls held of shared limits, and break the
        stage <-> run reference cycles so the run's objects go by refcount."""
        wiring, self._wiring = self._wiring, None
        if wiring is not None:
            for stage in wiring.stages:
                stage.release_gate()
                stage.downstream = None
        self._outlet = self._last = None
