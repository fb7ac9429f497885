"""Calls that wait: run in tasks, settled there, and carrying items down the chain.

A coroutine call that suspends keeps running in the task that started it (the
pump's, or a new one when the stage has stopped trying eager first steps); when it
ends, that task settles it and, instead of leaving the output to the next stage's
pump and a new task, takes the next waiting item of the following stage and runs
that call itself (``_adopt_downstream``). One task can so carry an item through a
chain of stages, as ``asyncio.gather`` of a chain would.

A carried coroutine call costs about what one step of such a chain costs: while the
carrying task's context holds what the next stage's holds (no user code has set a
context variable in it: ``same_context``), the task makes the call and awaits it itself, in that context, with
no copy and no layer in between; a call of a plain stage (see ``Stage.plain``) is
settled and its item carried into the next plain stage in a few lines (``_pass_on``).
Otherwise the call gets a copy of the stage's context and its first step runs
eagerly, as in the pump.

A mixin of the ``Stage`` (runtime/stage.py), whose attributes it declares below.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from contextvars import copy_context
from time import perf_counter
from typing import TYPE_CHECKING, Any

from conveyor.invoke import CallShape
from conveyor.runtime.calls import Slot, Suspended, drain, raised_by_user_code, resume, unexpected_cancel
from conveyor.runtime.deadlines import Deadlines, timeout_error
from conveyor.runtime.groups import NOTHING, Leading
from conveyor.runtime.inputs import EMPTY, END, awaited
from conveyor.runtime.outcomes import NEVER_AWAITABLE
from conveyor.task import Task

if TYPE_CHECKING:
    from conveyor.concurrency import ConcurrencyGate
    from conveyor.runtime.inputs import Outlet
    from conveyor.runtime.scheduler import Run
    from conveyor.runtime.stage import Stage
    from conveyor.runtime.stats import StageStats

__all__ = ["Carrying", "EAGER_GIVE_UP", "EAGER_PROBE_EVERY", "BLOCKING_PROBE_EVERY"]

#: After this many eager calls in a row that suspended, a stage starts calls as tasks.
EAGER_GIVE_UP = 8
#: A stage starting calls as tasks tries one eager call this often, to notice a change.
EAGER_PROBE_EVERY = 256
#: Of the coroutine calls carried into a stage, the first and then one in this many
#: start eagerly, so that one blocking the event loop is still reported.
BLOCKING_PROBE_EVERY = 256


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
        slots: deque[Slot]
        window: float
        pending_weight: int
        running: int
        adoptable: bool
        plain: bool
        prepared: bool
        holding: bool
        tracking: bool
        leading: bool
        stats: StageStats
        context: contextvars.Context
        call: Callable[[Any], Any]
        _pump_waiter: asyncio.Future[None] | None
        _reader: asyncio.Future[None] | None
        _eager: bool
        _suspended_in_a_row: int
        _calls_since_probe: int
        _carried: int

        def _open_slot(self, item: Any, weight: int, started: float) -> Slot: ...
        def _release_finished(self) -> None: ...
        def _wake_pump(self) -> None: ...
        def _start(self, item: Any, weight: int, *, adopted: bool = False) -> Suspended | None: ...
        def _succeed(self, slot: Slot, result: Any) -> None: ...
        def _after_failure(self, slot: Slot, exc: Exception) -> None: ...
        def _stop_run_with(self, exc: BaseException) -> None: ...
        def pass_nothing(self) -> None: ...

    def _spawn_carrier(self, slot: Slot) -> None:
        """Start a coroutine call in a task of its own, which makes the call, settles it
        and carries its output into the next stage (``_drive``). Made in that task, the
        call cannot be left unawaited by a task cancelled before its first step."""
        run = self.run
        context = self.context.copy()
        carrier = run.loop.create_task(_drive(self, None, slot, context), context=context)
        run.tasks.add(carrier)
        carrier.add_done_callback(run.tasks.discard)  # _drive reports its own internal errors
        if self.deadlines is not None:
            slot.deadline = self.deadlines.arm(slot.started, carrier)

    def _spawn_call(self, slot: Slot, result: Any, context: contextvars.Context) -> None:
        """A call that is not carried on: its own task, settled by its done callback."""
        run = self.run
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

    def _adopt_downstream(
        self, context: contextvars.Context | None = None
    ) -> tuple[Carrying, Awaitable[Any] | None, Slot] | None:
        """Fusion: the task that just finished a call takes the next waiting item of
        the following stage and runs that call itself, instead of leaving it to the
        next stage's pump and a new task. One task can so carry an item through a
        chain of stages, as ``asyncio.gather`` of a chain would.

        Calls that finish inline are carried further right here. The first one that
        suspends is returned for the caller's loop (`_drive`) to await: as
        (stage, None, slot) when that loop is to make the call itself. ``context``: the
        current task's own context object, when the caller knows it (else a copy is read)."""
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
            here = copy_context() if context is None else context
            if stage.shape is CallShape.AWAITABLE and same_context(here, stage.context):
                stage._carried += 1
                if stage._carried % BLOCKING_PROBE_EVERY != 1:  # the others, eagerly: see below
                    return stage, None, stage._open_carried(item)
            # The call runs in a context of its own, first step eagerly: one that finishes
            # without waiting is checked for blocking the event loop (runtime/blocking.py).
            suspended = stage._start(item, 1, adopted=True)
            if suspended is not None:
                return stage, resume(suspended), suspended.slot
            stage = stage.downstream  # done inline: carry its output further
        return None

    def _open_carried(self, item: Any) -> Slot:
        """Book a coroutine call that the carrying task makes and awaits itself, in its
        own context: that context holds what this stage's holds (checked), so it needs no copy,
        and no layer stands between the task and the call."""
        stats = self.stats
        stats.calls += 1
        stats.items_in += 1
        if self.tracking:  # in an ordered branch: a Leading item is called for its value
            self.leading = type(item) is Leading
            if self.leading:
                item = item.value
        slot = self._open_slot(item, 1, perf_counter())
        if self.deadlines is not None:
            slot.deadline = self.deadlines.arm(slot.started, asyncio.current_task())  # type: ignore[arg-type]
        return slot

    def _pass_on(
        self, slot: Slot, result: Any, now: float, context: contextvars.Context | None
    ) -> tuple[Carrying, Awaitable[Any] | None, Slot] | None:
        """Settle a plain stage's call that returned one ordinary item (not None, of a
        never-awaitable type): ``_succeed`` and ``_finish`` for that case, with the clock
        read by the caller. When the call's turn has come and the next stage is plain
        and can take the item now, book that stage's call on the same slot and return
        it, for ``_drive`` to make; else the item waits in ``ready`` (None: the general
        way may still carry an earlier item on). The per-call hot path of W2."""
        self.running -= 1
        stats = self.stats
        stats.finished_calls += 1
        stats.busy_seconds += now - slot.started
        stats.items_out += 1
        slots = self.slots
        carried = None
        if slots[0] is not slot:  # an earlier call still runs: wait behind it
            slot.outputs = [result]
        else:
            slots.popleft()
            self.pending_weight -= 1
            down = self.downstream
            upstream: object = None if down is None else down.upstream  # a Stage is an Outlet
            if (upstream is self and not self.ready and down is not None and down.plain and down.prepared
                    and not down.holding and not down.run.stopping
                    and down.pending_weight + len(down.ready) < down.window
                    and down._carried % BLOCKING_PROBE_EVERY != 0  # else the probe's turn (_adopt_downstream)
                    and same_context(copy_context() if context is None else context, down.context)):
                down._carried += 1
                down_stats = down.stats
                down_stats.calls += 1
                down_stats.items_in += 1
                slot.item, slot.started = result, now  # the slot is free: reused for the next call
                down.slots.append(slot)
                down.pending_weight += 1
                down.running += 1
                carried = down, None, slot
            else:
                self.ready.append(result)
            if slots and slots[0].outputs is not None:
                self._release_finished()
        reader = self._reader  # wake_reader() and _wake_pump(), inlined
        if reader is not None and not reader.done():
            reader.set_result(None)
        waiter = self._pump_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        return carried

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


_MISSING = object()


def same_context(here: contextvars.Context, there: contextvars.Context) -> bool:
    """Do two contexts hold the same variables, each with the very same value? Then a
    call may run in ``here`` as if in a copy of ``there``. (Not ``==``: that calls the
    values' ``__eq__``, which may raise, and an equal value another call set is not
    this stage's own.) Once per carried call: usually a context holds no variable."""
    if len(here) != len(there):
        return False
    get = here.get
    for var, value in there.items():
        if get(var, _MISSING) is not value:
            return False
    return True


async def _drive(
    stage: Carrying, call: Awaitable[Any] | None, slot: Slot, context: contextvars.Context | None = None
) -> None:
    """Await a call in the current task and settle it, then carry items down the
    chain, in one flat loop: the stack (and so the user's own recursion room) never
    grows with the chain, and each call costs no coroutine of its own. A call of None
    is made here, from the slot's item, in this task's context (``context``, when the
    task was made with it: the checks before carried calls then read it without a copy).

    A carrying task's done callback only drops it from ``run.tasks``: a failure of
    ours that escapes is reported here, as ``run.supervise`` would."""
    try:
        while True:
            try:
                if call is None:
                    call = stage.call(slot.item)
                result = await call
            except BaseException as exc:
                stage._settle_failure(slot, exc)
                return
            if slot.deadline is not None:
                slot.deadline.end()
            if stage.plain and result is not None and type(result) in NEVER_AWAITABLE:
                carried = stage._pass_on(slot, result, perf_counter(), context)
                if carried is not None:
                    stage, call, slot = carried
                    continue
            else:
                stage._succeed(slot, result)
            if stage.downstream is None:
                return
            carried = stage._adopt_downstream(context)
            if carried is None:
                return
            stage, call, slot = carried
    except Exception as exc:
        stage.run.internal_error(exc)
