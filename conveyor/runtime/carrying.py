"""Calls that wait: run in tasks, settled there, and carrying items down the chain.

A coroutine call that suspends keeps running in the task that started it (the
pump's, or a new one when the stage has stopped trying eager first steps); when it
ends, that task settles it and, instead of leaving the output to the next stage's
pump and a new task, takes the next waiting item of the following stage and runs
that call itself (``_adopt_downstream``). One task can so carry an item through a
chain of stages, as ``asyncio.gather`` of a chain would.

A mixin of the ``Stage`` (runtime/stage.py), whose attributes it declares below.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections import deque
from collections.abc import Awaitable, Coroutine
from types import CoroutineType
from typing import TYPE_CHECKING, Any

from conveyor.invoke import CallShape
from conveyor.runtime.calls import Carrier, Slot, Suspended, drain, raised_by_user_code, resume, unexpected_cancel
from conveyor.runtime.deadlines import Deadlines, timeout_error
from conveyor.runtime.groups import NOTHING
from conveyor.runtime.inputs import EMPTY, END, awaited
from conveyor.task import Task

if TYPE_CHECKING:
    from conveyor.concurrency import ConcurrencyGate
    from conveyor.runtime.inputs import Outlet
    from conveyor.runtime.scheduler import Run
    from conveyor.runtime.stage import Stage

__all__ = ["Carrying", "EAGER_GIVE_UP", "EAGER_PROBE_EVERY"]

#: After this many eager calls in a row that suspended, a stage starts calls as tasks.
EAGER_GIVE_UP = 8
#: A stage starting calls as tasks tries one eager call this often, to notice a change.
EAGER_PROBE_EVERY = 256


class Carrying:
    """Running and settling a stage's waiting calls (the attributes below are the stage's)."""

    if TYPE_CHECKING:
        run: Run
        task: Task[Any, Any]
        shape: CallShape
        upstream: Outlet
        downstream: Stage | None
        deadlines: Deadlines | None
        gate: ConcurrencyGate | None
        ready: deque[Any]
        window: float
        pending_weight: int
        adoptable: bool
        prepared: bool
        holding: bool
        _eager: bool
        _suspended_in_a_row: int
        _calls_since_probe: int

        def _start(self, item: Any, weight: int, *, adopted: bool = False) -> Suspended | None: ...
        def _succeed(self, slot: Slot, result: Any) -> None: ...
        def _after_failure(self, slot: Slot, exc: Exception) -> None: ...
        def _stop_run_with(self, exc: BaseException) -> None: ...
        def pass_nothing(self) -> None: ...

    def _spawn_call(self, slot: Slot, result: Any, context: contextvars.Context) -> None:
        run = self.run
        if type(result) is CoroutineType and self.downstream is not None:
            # The task runs the call, then carries its output into the next stage.
            # It runs _drive straight away (run.supervise drops it from run.tasks when done).
            carrier = run.loop.create_task(Carrier(_drive(self, result, slot), result), context=context)
            run.tasks.add(carrier)
            carrier.add_done_callback(run.supervise)
            if self.deadlines is not None:
                slot.deadline = self.deadlines.arm(slot.started, carrier)
            return
        if self.shape is CallShape.ASYNC_ITERATOR:
            result = drain(result)
        elif not asyncio.iscoroutine(result):
            result = awaited(result)  # a Future or other awaitable from a user function
        # The user's coroutine is the task's own (never a wrapper's argument), so a task
        # cancelled before its first step leaves no "never awaited" coroutine behind.
        task = run.loop.create_task(result, context=context)
        run.tasks.add(task)
        task.add_done_callback(functools.partial(self._on_call_done, slot))
        if self.deadlines is not None:
            slot.deadline = self.deadlines.arm(slot.started, task)

    def _adopt_downstream(self) -> tuple[Carrying, Suspended] | None:
        """Fusion: the task that just finished a call takes the next waiting item of
        the following stage and runs that call itself, instead of leaving it to the
        next stage's pump and a new task. One task can so carry an item through a
        chain of stages, as ``asyncio.gather`` of a chain would.

        Calls that finish inline are carried further right here; the first one that
        suspends is returned, for the caller's loop (`_drive`) to await."""
        stage = self.downstream
        while stage is not None and stage.adoptable and stage.prepared and not stage.holding and not stage.run.stopping:
            gate = stage.gate  # _no_room(1), inlined: this runs once per carried call
            if (gate is not None and gate.running >= gate.limit) or stage.pending_weight + len(stage.ready) >= stage.window:
                return None
            item = stage.upstream.get_nowait()
            if item is EMPTY or item is END:
                return None
            if item is NOTHING:
                stage.pass_nothing()
                return None
            suspended = stage._start(item, 1, adopted=True)
            if suspended is not None:
                return stage, suspended
            stage = stage.downstream  # done inline: carry its output further
        return None

    def _on_call_done(self, slot: Slot, task: asyncio.Task[Any]) -> None:
        self.run.tasks.discard(task)
        if task.cancelled():
            if not self.run.stopping:  # user code raised CancelledError (or the timeout did): a failure
                if slot.deadline is not None and slot.deadline.end():
                    self._after_failure(slot, timeout_error(self.task, slot.item, 1, None))
                else:
                    self._after_failure(slot, unexpected_cancel(self.task, asyncio.CancelledError()))
            return
        if slot.deadline is not None:
            slot.deadline.end()
        exc = task.exception()
        if exc is None:
            self._succeed(slot, task.result())
        elif isinstance(exc, Exception):
            self._after_failure(slot, exc)
        else:  # KeyboardInterrupt and friends are not task failures
            self.run.fail(exc)

    def _try_eager(self) -> bool:
        """Run this coroutine's first step inline? Stages whose calls keep suspending
        stop trying (a hand-over costs an event-loop turn) and probe now and then."""
        if self._eager:
            return True
        self._calls_since_probe += 1
        if self._calls_since_probe < EAGER_PROBE_EVERY:
            return False
        self._calls_since_probe = 0
        return True

    def _suspended(
        self, coroutine: Coroutine[Any, Any, Any], yielded: Any, slot: Slot, context: contextvars.Context
    ) -> Suspended:
        self._suspended_in_a_row += 1
        if self._suspended_in_a_row >= EAGER_GIVE_UP:
            self._eager = False
        return Suspended(coroutine, yielded, slot, context)

    async def _continue(self, suspended: Suspended) -> None:
        await _drive(self, resume(suspended), suspended.slot)

    def _settle_failure(self, slot: Slot, exc: BaseException) -> None:
        """A started call raised ``exc`` (awaited by ``_drive``): fail, retry or skip it by
        policy. Re-raises a cancellation of the current task (the run stopping)."""
        if isinstance(exc, asyncio.CancelledError):
            if slot.deadline is not None and slot.deadline.end():  # cancelled by its timeout
                self._after_failure(slot, timeout_error(self.task, slot.item, 1, exc))
                return
            if not raised_by_user_code():
                raise exc
            self._after_failure(slot, unexpected_cancel(self.task, exc))
            return
        if slot.deadline is not None:
            slot.deadline.end()
        if isinstance(exc, Exception):
            self._after_failure(slot, exc)
        else:  # KeyboardInterrupt and friends stop the run
            self._stop_run_with(exc)


async def _drive(stage: Carrying, call: Awaitable[Any], slot: Slot) -> None:
    """Await a started call in the current task and settle it, then carry items down
    the chain, in one flat loop: the stack (and so the user's own recursion room)
    never grows with the chain, and each call costs no coroutine of its own."""
    while True:
        try:
            result = await call
        except BaseException as exc:
            stage._settle_failure(slot, exc)
            return
        if slot.deadline is not None:
            slot.deadline.end()
        stage._succeed(slot, result)
        if stage.downstream is None:
            return
        carried = stage._adopt_downstream()
        if carried is None:
            return
        stage, suspended = carried
        call, slot = resume(suspended), suspended.slot
