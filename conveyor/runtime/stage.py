"""One running stage: pulls items from upstream, calls the task, hands outputs on.

Shape of a stage at run time:
- a *pump* task pulls from the upstream outlet, groups items (batch tasks), waits
  while the stage is full, and starts one call per item or batch;
- each call becomes a *slot*; in ordered mode slots are kept in input order and a
  slot's outputs are released only when every earlier slot has released its own;
- ``get()`` is the outlet the next stage (or the consumer) pulls from.

Bounds: at most ``concurrency_limit`` calls run at once, and the items held by the
stage (in running or waiting slots, plus outputs not yet pulled) stay at or under
``max_in_flight`` (a single call may overshoot by its own fan-out). Memory is thus
bounded per stage whatever the length of the stream.

Calls that need no waiting (sync functions, generators, coroutines that finish
without suspending) run inline in the pump: no task and no extra hop per item. See
runtime/pump.py for what happens when a coroutine call suspends,
runtime/carrying.py for the calls that run in tasks and carry items on, and
runtime/recovery.py for retries, error handlers and policies after a failure.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections import deque
from collections.abc import Callable
from time import perf_counter
from types import CoroutineType
from typing import TYPE_CHECKING, Any, TypeVar

from conveyor.errors import ItemTypeError
from conveyor.executors import is_inline
from conveyor.invoke import CallShape
from conveyor.runtime.batching import Batching, MarkedBatch
from conveyor.runtime.blocking import blocking_threshold, report_blocking
from conveyor.runtime.calls import (
    Slot,
    Suspended,
    not_prepared,
    raised_by_user_code,
    unexpected_cancel,
)
from conveyor.runtime.deadlines import Deadlines
from conveyor.runtime.offload import call_shape
from conveyor.runtime.carrying import Carrying
from conveyor.runtime.pump import Pump
from conveyor.runtime.recovery import Recovery
from conveyor.runtime.checks import ItemChecker
from conveyor.runtime.groups import Leading, encode_placed, encoded
from conveyor.runtime.inputs import EMPTY, END, Outlet, WaitingOutlet
from conveyor.runtime.outcomes import Interpreter, interpreter_for
from conveyor.runtime.stats import StageStats
from conveyor.task import BatchTask, Task

if TYPE_CHECKING:
    from conveyor.runtime.scheduler import Run

__all__ = ["Stage"]

T = TypeVar("T")


class Stage(Pump, Carrying, Recovery, WaitingOutlet):
    # Slots: a stage's attributes are read on every call, and CPython 3.11 keeps at most
    # 30 of an instance's attributes in its fast inline layout (a stage has more).
    __slots__ = (
        "adoptable", "batch", "blocking_after", "call", "check", "context", "counts_input",
        "dead_letters", "deadlines", "downstream", "gate", "holding", "input_done", "interpret",
        "leading", "limiter", "ordered", "path", "pending_weight", "plain", "prepared", "ready",
        "run", "running", "shape", "slots", "stats", "task", "tracking", "upstream", "window",
        "_calls_since_probe", "_carried", "_eager", "_pump_waiter", "_reader",
        "_suspended_in_a_row",
    )

    def __init__(
        self,
        run: Run,
        task: Task[Any, Any],
        upstream: Outlet,
        *,
        ordered: bool,
        max_in_flight: int | None,
        checker: ItemChecker | None = None,
        stats: StageStats | None = None,
        tracking: bool = False,
        path: str = "",
    ) -> None:
        self.run = run
        self.dead_letters = None  # the wiring sets the inlet of the task's dead-letter branch
        # Inside an ordered fan / fork / route branch the stream says which outputs
        # belong to which input item (runtime/groups.py); the stage keeps saying it.
        self.tracking = tracking
        self.leading = False  # tracking: the item being started is a Leading one
        self.path = path  # "branch 'x' (1 of 2) of fork at app.py:9", for failure notes
        self.check = checker
        self.stats = stats if stats is not None else StageStats(task.name)
        self.task = task
        self.upstream = upstream
        self.ordered = ordered
        self.shape = call_shape(task)  # an offloaded sync call is awaited (runtime/offload.py)
        self.interpret: Interpreter = interpreter_for(task, self.shape)
        self.window = max_in_flight if max_in_flight is not None else float("inf")
        self.gate = task.gate  # the task's concurrency_limit, shared by all its runs
        # Armed only for calls that suspend; one timer per stage (runtime/deadlines.py).
        self.deadlines = Deadlines(run.loop, task.timeout) if task.timeout is not None else None
        # A bucket of this run, or the one shared by the limiter's users (runtime/rate_waits.py).
        self.limiter = task.rate_limit.for_run() if task.rate_limit is not None else None
        if self.limiter is not None:
            self.stats.rate_wait = 0.0
        self.ready: deque[Any] = deque()  # outputs waiting to be pulled
        self.slots: deque[Slot] = deque()  # ordered mode: calls not yet released
        self.running = 0  # this run's calls started and not finished (retries included)
        self.pending_weight = 0  # items in slots not yet released to ``ready``
        self.input_done = False
        self._reader: asyncio.Future[None] | None = None
        self._pump_waiter: asyncio.Future[None] | None = None
        self.batch = Batching(task, marked=tracking) if isinstance(task, BatchTask) else None
        self.context = contextvars.copy_context()  # each call runs in a copy, as a task would
        self.call: Callable[[Any], Any] = not_prepared
        self._eager = True
        self._suspended_in_a_row = 0
        self._calls_since_probe = 0
        self._carried = 0  # carried coroutine calls (see Carrying._adopt_downstream)
        self.counts_input = not task.is_source  # a source's one call takes no stream item
        self.downstream: Stage | None = None  # the next stage, for carrying items on
        # Items are adopted only one at a time into single stages; batching is the pump's job.
        # A rate-limited stage's calls all start in its pump, after their token.
        self.adoptable = self.batch is None and not task.is_source and self.limiter is None
        self.holding = False  # the pump holds an item it could not start yet
        self.prepared = False  # side inputs not resolved yet
        #: An inline call longer than this logs a warning (runtime/blocking.py).
        self.blocking_after = blocking_threshold()
        #: A plain stage: coroutine calls of a single task, in order, with no shared limit,
        #: item checks, branch tracking or time limit. Its carried calls take the short
        #: way (``Carrying._pass_on``).
        self.plain = (
            ordered and self.adoptable and self.shape is CallShape.AWAITABLE and self.gate is None
            and checker is None and not tracking and self.deadlines is None
        )

    @property
    def fusable(self) -> bool:
        """May a branching step's feeder run this stage's calls itself, item by item
        (runtime/fused.py)? Not when a call can wait on more than its own work: a batch
        filling up, a shared concurrency limit, a rate, a time limit, a dead-letter
        inlet, a worker; nor for an async generator, whose calls always run in a task."""
        return (
            self.batch is None and self.gate is None and self.limiter is None and self.deadlines is None
            and self.dead_letters is None and not self.task.is_source and is_inline(self.task.executor)
            and self.shape is not CallShape.ASYNC_ITERATOR
        )

    # -- outlet side -------------------------------------------------------------------

    def get_nowait(self) -> Any:
        """The next output if one is ready, END when finished, else EMPTY."""
        if self.ready:
            item = self.ready.popleft()
            if self._pump_waiter is not None:
                self._wake_pump()
            return item
        if self.input_done and self.pending_weight == 0:
            return END
        return EMPTY

    def _wake_pump(self) -> None:
        waiter = self._pump_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- calls -----------------------------------------------------------------------------

    def _start(self, item: Any, weight: int, *, adopted: bool = False) -> Suspended | None:
        """Start one call. Returns the call if it suspended; the pump hands itself on.

        The hot path: a call that completes without waiting (a sync function, a
        generator, a coroutine that never suspends) is finished right here, with no
        slot, task or wake-up when no earlier call is still running.
        """
        stats = self.stats
        stats.calls += 1
        if self.tracking:  # in an ordered branch: a Leading item is called for its value
            self.leading = type(item) is Leading
            if self.leading:
                item = item.value
        if self.counts_input:
            stats.items_in += weight
        started = perf_counter()
        shape = self.shape
        eager = adopted or shape is not CallShape.AWAITABLE or self._try_eager()
        if not eager and self.downstream is not None:
            self._spawn_carrier(self._open_slot(item, weight, started))
            return None
        context = self.context.copy()  # like a task: user code gets its own context
        try:
            result = context.run(self.call, item)
            if shape is CallShape.ITERATOR:
                result = context.run(list, result)
            elif shape is not CallShape.VALUE:
                if type(result) is not CoroutineType or not eager:
                    self._spawn_call(self._open_slot(item, weight, started), result, context)
                    return None
                try:
                    yielded = context.run(result.send, None)
                except StopIteration as stop:  # finished without suspending: no task needed
                    self._eager = True
                    self._suspended_in_a_row = 0
                    result = stop.value
                else:
                    slot = self._open_slot(item, weight, started)
                    if self.deadlines is not None:  # the current task goes on running the call
                        slot.deadline = self.deadlines.arm(started, asyncio.current_task())  # type: ignore[arg-type]
                    if adopted:  # the adopting task continues it: no pump hand-over to account for
                        return Suspended(result, yielded, slot, context)
                    return self._suspended(result, yielded, slot, context)
        except Exception as exc:
            self._after_failure(self._open_slot(item, weight, started), exc)
            return None
        except asyncio.CancelledError as exc:
            if not raised_by_user_code():
                raise
            self._after_failure(self._open_slot(item, weight, started), unexpected_cancel(self.task, exc))
            return None
        except BaseException as exc:
            self._stop_run_with(exc)
            return None
        elapsed = perf_counter() - started
        if elapsed > self.blocking_after:  # it held the event loop all that time
            report_blocking(self.task, elapsed, is_async=shape is not CallShape.VALUE and shape is not CallShape.ITERATOR)
        if self.ordered and self.slots:  # an earlier call still runs: wait behind it
            self._succeed(self._open_slot(item, weight, started), result)
            return None
        try:
            outputs = self._checked(result)
        except ItemTypeError as exc:
            self._after_failure(self._open_slot(item, weight, started), exc)
            return None
        stats.finished_calls += 1
        stats.busy_seconds += elapsed
        if outputs:
            stats.items_out += len(outputs)
        if self.tracking and (len(outputs) != 1 or self.leading or type(item) is MarkedBatch):
            outputs = self._encoded(item, outputs, self.leading)  # (one plain output is itself)
        if outputs:
            self.ready.extend(outputs)
            if self._reader is not None:
                self.wake_reader()
        return None

    @staticmethod
    def _encoded(item: Any, outputs: list[Any], leading: bool) -> list[Any]:
        """One call's outputs as an ordered branch hands them on (runtime/groups.py)."""
        if type(item) is MarkedBatch:
            return encode_placed(item.place(outputs))
        return encoded(outputs, leading)

    def _open_slot(self, item: Any, weight: int, started: float) -> Slot:
        """Book a call that does not finish inline: it holds its place (ordered mode)."""
        slot = Slot(item, weight, started)
        if self.tracking:
            slot.leading = self.leading
        if self.ordered:
            self.slots.append(slot)
        self.pending_weight += weight
        self.running += 1
        if self.gate is not None:
            self.gate.running += 1
        return slot

    def _checked(self, result: Any) -> list[Any]:
        """One call's output items; ItemTypeError if item checks are on and one is wrong
        (a wrong item is a failure of the stage that made it)."""
        outputs = self.interpret(result)
        if self.check is not None:
            self.check(outputs)
        return outputs

    def _succeed(self, slot: Slot, result: Any) -> None:
        try:
            outputs = self.interpret(result)  # _checked(), inlined: once per call
            if self.check is not None:
                self.check(outputs)
        except ItemTypeError as exc:
            self._after_failure(slot, exc)
            return
        self._finish(slot, outputs)

    def _finish(self, slot: Slot, outputs: list[Any], now: float | None = None) -> None:
        """Release a finished call's outputs (in input order); ``now``: the clock, if read."""
        self.running -= 1
        if self.gate is not None:
            self.gate.release()
        stats = self.stats
        stats.finished_calls += 1
        stats.busy_seconds += (perf_counter() if now is None else now) - slot.started
        stats.items_out += len(outputs)
        if self.tracking and (len(outputs) != 1 or slot.leading or type(slot.item) is MarkedBatch):
            outputs = self._encoded(slot.item, outputs, slot.leading)  # even a skipped call's
        if not self.ordered:
            self.pending_weight -= slot.weight
            self.ready.extend(outputs)
        else:
            slot.outputs = outputs
            self._release_finished()
        # wake_reader() and _wake_pump(), inlined: this runs once per call
        reader = self._reader
        if reader is not None and not reader.done():
            reader.set_result(None)
        waiter = self._pump_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _release_finished(self) -> None:
        """Hand on the outputs of the finished calls at the head of the line, in order."""
        slots = self.slots
        while slots and slots[0].outputs is not None:
            head = slots.popleft()
            self.pending_weight -= head.weight
            self.ready.extend(head.outputs)  # type: ignore[arg-type]  # checked in the loop test

    def release_gate(self) -> None:
        """The run has ended: calls that never finished (cancelled, failed) give
        their room in the task's shared concurrency limit back."""
        if self.gate is not None and self.running:
            self.gate.release(self.running)
        self.running = 0
        if self.deadlines is not None:
            self.deadlines.close()  # no timer outlives the run

    def __repr__(self) -> str:
        return f"<Stage {self.task.name!r} running={self.running} held={self.pending_weight + len(self.ready)}>"
