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
the pump section for what happens when a coroutine call suspends.
"""

from __future__ import annotations

import asyncio
import collections.abc
import contextvars
import functools
import types
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Generator
from time import perf_counter
from types import CoroutineType
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from conveyor.errors import ItemTypeError
from conveyor.invoke import CallShape
from conveyor.runtime.batching import TIMED_OUT, Batching, MarkedBatch
from conveyor.runtime.checks import ItemChecker
from conveyor.runtime.inputs import BOUNDARY, EMPTY, END, Outlet, awaited
from conveyor.runtime.outcomes import NEVER_AWAITABLE, Interpreter, describe_input, failure_note, interpreter_for, log
from conveyor.runtime.side_inputs import prepare_call
from conveyor.runtime.stats import StageStats
from conveyor.task import BatchTask, Task

if TYPE_CHECKING:
    from conveyor.runtime.scheduler import Run

__all__ = ["Stage"]

T = TypeVar("T")

#: The pump gives the event loop a turn after starting this many calls in a row.
YIELD_EVERY = 128
#: After this many eager calls in a row that suspended, a stage starts calls as tasks.
EAGER_GIVE_UP = 8
#: A stage starting calls as tasks tries one eager call this often, to notice a change.
EAGER_PROBE_EVERY = 256


class _Slot:
    """One call: its input, how many stream items it stands for, and its outputs."""

    __slots__ = ("item", "weight", "outputs", "started")

    def __init__(self, item: Any, weight: int, started: float) -> None:
        self.item = item
        self.weight = weight
        self.outputs: list[Any] | None = None  # None while the call is running
        self.started = started


class Stage:
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
        # Inside an ordered fan / fork / route branch the stream carries BOUNDARY
        # markers (one after each input item's outputs); the stage passes them on in
        # order, so the branching step knows which outputs belong to which item.
        self.tracking = tracking
        self.path = path  # "branch 'x' (1 of 2) of fork at app.py:9", for failure notes
        self.check = checker
        self.stats = stats if stats is not None else StageStats(task.name)
        self.task = task
        self.upstream = upstream
        self.ordered = ordered
        self.shape = task.invoker.shape
        self.interpret: Interpreter = interpreter_for(task, self.shape)
        self.window = max_in_flight if max_in_flight is not None else float("inf")
        self.gate = task.gate  # the task's concurrency_limit, shared by all its runs
        self.ready: deque[Any] = deque()  # outputs waiting to be pulled
        self.slots: deque[_Slot] = deque()  # ordered mode: calls not yet released
        self.running = 0  # this run's calls started and not finished (retries included)
        self.pending_weight = 0  # items in slots not yet released to ``ready``
        self.input_done = False
        self._reader: asyncio.Future[None] | None = None
        self._pump_waiter: asyncio.Future[None] | None = None
        self.batch = Batching(task) if isinstance(task, BatchTask) else None
        self.context = contextvars.copy_context()  # each call runs in a copy, as a task would
        self.call: Callable[[Any], Any] = _not_prepared
        self._eager = True
        self._suspended_in_a_row = 0
        self._calls_since_probe = 0
        self.counts_input = not task.is_source  # a source's one call takes no stream item
        self.downstream: Stage | None = None  # the next stage, for carrying items on
        # Items are adopted only one at a time into single stages; batching is the pump's job.
        self.adoptable = self.batch is None and not task.is_source
        self.holding = False  # the pump holds an item it could not start yet
        self.prepared = False  # side inputs not resolved yet

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

    async def get(self) -> Any:
        while True:
            item = self.get_nowait()
            if item is not EMPTY:
                return item
            if self.run.stopping:
                return END  # failed or closed; the consumer gets any error from the run
            self._reader = self.run.loop.create_future()
            try:
                await self._reader
            finally:
                self._reader = None

    def wake_reader(self) -> None:
        reader = self._reader
        if reader is not None and not reader.done():
            reader.set_result(None)

    def _wake_pump(self) -> None:
        waiter = self._pump_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- pump side -----------------------------------------------------------------------
    #
    # The pump role can move between tasks. A coroutine call is first run eagerly,
    # inside the pump; most finish without suspending and cost no task at all. When
    # one does suspend, the task that started it keeps it (so asyncio.current_task()
    # and asyncio.timeout() inside the user's code stay right) and a new task takes
    # over the pump. All pump state therefore lives on the stage, not in locals.

    async def pump(self) -> None:
        """The stage's first task: resolve side inputs, then pump."""
        ok, self.call = await self._guarded(prepare_call(self.task))
        if not ok:
            return
        self.prepared = True  # side inputs resolved: carrying tasks may start calls here now
        if self.task.is_source and self.shape.fans_out:
            ok, _ = await self._guarded(self._pump_source(self.call))
            if ok:
                self._end_of_input()
            return
        await self._pump()

    async def _guarded(self, work: Awaitable[T]) -> tuple[bool, Any]:
        """(True, result), or (False, None) after failing the run with what ``work`` raised."""
        try:
            return True, await work
        except Exception as exc:
            self.run.fail(exc)
        except asyncio.CancelledError as exc:
            if not _raised_by_user_code():
                raise
            self.run.fail(_unexpected_cancel(self.task, exc))
        except BaseException as exc:
            self._stop_run_with(exc)
        return False, None

    async def _pump(self) -> None:
        ok, suspended = await self._guarded(self._pump_batches() if self.batch is not None else self._pump_items())
        if not ok:
            return
        if suspended is None:
            self._end_of_input()
            return
        if not self.run.stopping:
            self.run.spawn(self._pump())  # the pump moves on; this task finishes the call
        await self._continue(suspended)

    def _end_of_input(self) -> None:
        if self.run.stopping:
            return  # a failure or close ends the run, not the end of this stage's input
        self.input_done = True
        self.wake_reader()

    async def _pump_items(self) -> _Suspended | None:
        upstream_get, upstream_get_nowait = self.upstream.get, self.upstream.get_nowait
        start = self._start
        gate, window, ready = self.gate, self.window, self.ready
        tracking = self.tracking
        turn = 0
        while True:
            turn += 1
            if turn % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # let finished calls and timers run: first results come sooner
            # Checked right before taking an item, with no await in between: a carrying
            # task may use the room whenever this pump awaits. (_no_room, inlined: hot.)
            if (gate is not None and gate.running >= gate.limit) or self.pending_weight + len(ready) >= window:
                await self._wait_for_room(1)
            item = upstream_get_nowait()
            if item is EMPTY:
                item = await upstream_get()
                if item is END or self.run.stopping:
                    return None
                # While we waited, a carrying task may have taken the room (see _carry_on).
                # Hold this item until there is room again; meanwhile no task may adopt
                # a later item, or it would start ahead of this one.
                if self._no_room(1):
                    self.holding = True
                    try:
                        await self._wait_for_room(1)
                    finally:
                        self.holding = False
            if item is END or self.run.stopping:
                return None
            if tracking and item is BOUNDARY:
                self.pass_boundary()
                continue
            suspended = start(item, 1)
            if suspended is not None:
                return suspended

    async def _pump_batches(self) -> _Suspended | None:
        batching = self.batch
        assert batching is not None
        turn = 0
        while not batching.ended:
            turn += 1
            if turn % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # as in _pump_items: never starve the event loop
            item = await batching.next_item(self.upstream, self.run)
            if self.run.stopping:
                return None
            if item is END:
                batching.ended = True
                break
            if item is BOUNDARY:
                # Outputs of a batch belong to its last item (see Batching).
                if batching.items:
                    batching.marks.append(len(batching.items))
                else:
                    self.pass_boundary()
                continue
            if item is not TIMED_OUT and not batching.add(item, self.run.loop.time()):
                continue
            suspended = await self._dispatch_batch()  # full, or due after max_wait
            if suspended is not None or self.run.stopping:
                return suspended
        if batching.items:  # the remainder is always processed, even below min_size
            return await self._dispatch_batch()
        return None

    async def _dispatch_batch(self) -> _Suspended | None:
        assert self.batch is not None
        batch = self.batch.take()  # a MarkedBatch in an ordered branch: see _placed
        await self._wait_for_room(len(batch))
        return self._start(batch, len(batch))

    def pass_boundary(self) -> None:
        """Pass a BOUNDARY on after the outputs of every call started before it."""
        if self.ordered and self.slots:
            slot = _Slot(None, 0, 0.0)
            slot.outputs = [BOUNDARY]
            self.slots.append(slot)
        else:
            self.ready.append(BOUNDARY)
            self.wake_reader()

    def _no_room(self, weight: int) -> bool:
        """Is the task at its concurrency limit, or this stage's window full?
        An empty stage always admits one call, so a batch larger than the window runs."""
        gate = self.gate
        if gate is not None and gate.running >= gate.limit:
            return True
        held = self.pending_weight + len(self.ready)
        return held + weight > self.window and held > 0

    async def _wait_for_room(self, weight: int) -> None:
        while self._no_room(weight):
            gate = self.gate
            if gate is None:
                await self._pump_wait()
                continue
            gate.wait_with(self._wake_pump)  # a call of another run may free the room
            try:
                await self._pump_wait()
            finally:
                gate.stop_waiting(self._wake_pump)

    async def _pump_wait(self) -> None:
        """Sleep until a call finishes or an output is pulled."""
        self._pump_waiter = self.run.loop.create_future()
        try:
            await self._pump_waiter
        finally:
            self._pump_waiter = None

    async def _pump_source(self, call: Callable[[Any], Any]) -> None:
        """A source generator is streamed lazily: it is the stream, possibly endless.

        ``get`` reports END only once ``input_done`` is set, after the generator ends.
        """
        stats = self.stats
        stats.calls += 1
        started = perf_counter()
        produced = call(None)
        count = 0
        try:
            if self.shape is CallShape.ASYNC_ITERATOR:
                async for value in produced:
                    count += await self._emit_source_value(value)
            else:
                for value in produced:
                    count += await self._emit_source_value(value)
        except Exception as exc:
            self._source_failed(exc, count)
        finally:
            stats.finished_calls += 1
            stats.busy_seconds += perf_counter() - started
            # Stopped early (closed, failed): the generator's finally runs here, in
            # this task, before the run's aclose() returns; not later in a GC hook.
            await _close_iterator(produced)

    async def _emit_source_value(self, value: Any) -> int:
        if value is None:
            return 0
        if self.check is not None or type(value) not in NEVER_AWAITABLE:  # or a forgotten await
            try:
                self._checked([value])
            except ItemTypeError as exc:
                if not self.task.policy.skips:
                    raise
                self._skip(value, 1, exc, attempt=1)  # one bad value; the source goes on
                return 0
        while len(self.ready) >= self.window:
            await self._pump_wait()
        self.stats.items_out += 1
        self.ready.append(value)
        self.wake_reader()
        return 1

    def _source_failed(self, exc: Exception, count: int) -> None:
        # Items already emitted cannot be taken back, so a source generator is not retried.
        note = (
            f"conveyor: source task {self.task.name!r} (defined at {self.task.defined_at}) "
            f"raised after producing {count} item(s)"
        )
        if self.task.policy.skips:
            log.warning("%s; on_error=%r: the source stops here", note.removeprefix("conveyor: "),
                        self.task.policy.on_error, extra={"task_name": self.task.name})
            return
        self.stats.failed += 1
        exc.add_note(note)
        raise exc

    # -- calls -----------------------------------------------------------------------------

    def _start(self, item: Any, weight: int, *, adopted: bool = False) -> _Suspended | None:
        """Start one call. Returns the call if it suspended; the pump hands itself on.

        The hot path: a call that completes without waiting (a sync function, a
        generator, a coroutine that never suspends) is finished right here, with no
        slot, task or wake-up when no earlier call is still running.
        """
        stats = self.stats
        stats.calls += 1
        if self.counts_input:
            stats.items_in += weight
        started = perf_counter()
        context = self.context.copy()  # like a task: user code gets its own context
        shape = self.shape
        try:
            result = context.run(self.call, item)
            if shape is CallShape.ITERATOR:
                result = context.run(list, result)
            elif shape is not CallShape.VALUE:
                if type(result) is not CoroutineType or not (adopted or self._try_eager()):
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
                    if adopted:  # the adopting task continues it: no pump hand-over to account for
                        return _Suspended(result, yielded, slot, context)
                    return self._suspended(result, yielded, slot, context)
        except Exception as exc:
            self._after_failure(self._open_slot(item, weight, started), exc)
            return None
        except asyncio.CancelledError as exc:
            if not _raised_by_user_code():
                raise
            self._after_failure(self._open_slot(item, weight, started), _unexpected_cancel(self.task, exc))
            return None
        except BaseException as exc:
            self._stop_run_with(exc)
            return None
        if self.ordered and self.slots:  # an earlier call still runs: wait behind it
            self._succeed(self._open_slot(item, weight, started), result)
            return None
        try:
            outputs = self._checked(result)
        except ItemTypeError as exc:
            self._after_failure(self._open_slot(item, weight, started), exc)
            return None
        stats.finished_calls += 1
        stats.busy_seconds += perf_counter() - started
        if self.tracking and type(item) is MarkedBatch:
            stats.items_out += len(outputs)
            outputs = item.place(outputs)  # boundaries among the outputs (not counted)
        elif outputs:
            stats.items_out += len(outputs)
        if outputs:
            self.ready.extend(outputs)
            if self._reader is not None:
                self.wake_reader()
        return None

    def _open_slot(self, item: Any, weight: int, started: float) -> _Slot:
        """Book a call that does not finish inline: it holds its place (ordered mode)."""
        slot = _Slot(item, weight, started)
        if self.ordered:
            self.slots.append(slot)
        self.pending_weight += weight
        self.running += 1
        if self.gate is not None:
            self.gate.running += 1
        return slot

    def _spawn_call(self, slot: _Slot, result: Any, context: contextvars.Context) -> None:
        run = self.run
        if type(result) is CoroutineType and self.downstream is not None:
            # The task runs the call, then carries its output into the next stage.
            carrier = run.loop.create_task(_Carrier(self._carry(result, slot), result), context=context)
            run.tasks.add(carrier)
            carrier.add_done_callback(run.supervise)
            return
        if self.shape is CallShape.ASYNC_ITERATOR:
            result = _drain(result)
        elif not asyncio.iscoroutine(result):
            result = awaited(result)  # a Future or other awaitable from a user function
        # The user's coroutine is the task's own (never a wrapper's argument), so a task
        # cancelled before its first step leaves no "never awaited" coroutine behind.
        task = run.loop.create_task(result, context=context)
        run.tasks.add(task)
        task.add_done_callback(functools.partial(self._on_call_done, slot))

    async def _carry(self, call: Coroutine[Any, Any, Any], slot: _Slot) -> None:
        run = self.run
        me = asyncio.current_task()
        try:
            await _drive(self, call, slot)  # the call runs in this task's own context
        finally:
            run.tasks.discard(me)

    def _adopt_downstream(self) -> tuple[Stage, _Suspended] | None:
        """Fusion: the task that just finished a call takes the next waiting item of
        the following stage and runs that call itself, instead of leaving it to the
        next stage's pump and a new task. One task can so carry an item through a
        chain of stages, as ``asyncio.gather`` of a chain would.

        Calls that finish inline are carried further right here; the first one that
        suspends is returned, for the caller's loop (:func:`_drive`) to await."""
        stage = self.downstream
        while stage is not None and stage.adoptable and stage.prepared and not stage.holding and not stage.run.stopping:
            if stage._no_room(1):
                return None
            item = stage.upstream.get_nowait()
            if item is EMPTY or item is END:
                return None
            if item is BOUNDARY:
                stage.pass_boundary()
                return None
            suspended = stage._start(item, 1, adopted=True)
            if suspended is not None:
                return stage, suspended
            stage = stage.downstream  # done inline: carry its output further
        return None

    def _on_call_done(self, slot: _Slot, task: asyncio.Task[Any]) -> None:
        self.run.tasks.discard(task)
        if task.cancelled():
            if not self.run.stopping:  # user code raised CancelledError: a failure
                self._after_failure(slot, _unexpected_cancel(self.task, asyncio.CancelledError()))
            return
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
        self, coroutine: Coroutine[Any, Any, Any], yielded: Any, slot: _Slot, context: contextvars.Context
    ) -> _Suspended:
        self._suspended_in_a_row += 1
        if self._suspended_in_a_row >= EAGER_GIVE_UP:
            self._eager = False
        return _Suspended(coroutine, yielded, slot, context)

    async def _continue(self, suspended: _Suspended) -> None:
        await _drive(self, _resume(suspended), suspended.slot)

    async def _settle(self, call: Awaitable[Any], slot: _Slot) -> bool:
        """Await a started call in the current task and settle it. True if it
        succeeded and its outputs may be carried on downstream."""
        try:
            result = await call
        except Exception as exc:
            self._after_failure(slot, exc)
            return False
        except asyncio.CancelledError as exc:
            if not _raised_by_user_code():
                raise
            self._after_failure(slot, _unexpected_cancel(self.task, exc))
            return False
        except BaseException as exc:
            self._stop_run_with(exc)
            return False
        self._succeed(slot, result)
        return self.downstream is not None

    def _checked(self, result: Any) -> list[Any]:
        """One call's output items; ItemTypeError if item checks are on and one is wrong
        (a wrong item is a failure of the stage that made it)."""
        outputs = self.interpret(result)
        if self.check is not None:
            self.check(outputs)
        return outputs

    def _succeed(self, slot: _Slot, result: Any) -> None:
        try:
            outputs = self._checked(result)
        except ItemTypeError as exc:
            self._after_failure(slot, exc)
            return
        self._finish(slot, outputs)

    def _finish(self, slot: _Slot, outputs: list[Any]) -> None:
        self.running -= 1
        if self.gate is not None:
            self.gate.release()
        stats = self.stats
        stats.finished_calls += 1
        stats.busy_seconds += perf_counter() - slot.started
        stats.items_out += len(outputs)
        if self.tracking and type(slot.item) is MarkedBatch:
            outputs = slot.item.place(outputs)  # even a skipped batch passes its boundaries on
        if not self.ordered:
            self.pending_weight -= slot.weight
            self.ready.extend(outputs)
        else:
            slot.outputs = outputs
            slots = self.slots
            while slots and slots[0].outputs is not None:
                head = slots.popleft()
                self.pending_weight -= head.weight
                self.ready.extend(head.outputs)  # type: ignore[arg-type]  # checked in the loop test
        self.wake_reader()
        self._wake_pump()

    # -- failures --------------------------------------------------------------------------

    def _after_failure(self, slot: _Slot, exc: Exception) -> None:
        if self.run.stopping:
            return  # the run already failed or was closed: this is a consequence, not news
        policy = self.task.policy
        if policy.retry.attempts > 1 or policy.handler is not None:
            self.run.spawn(self._recover(slot, exc))
        else:
            self._give_up(slot, exc, attempt=1)

    async def _recover(self, slot: _Slot, exc: Exception) -> None:
        """Retries with backoff, then the error handler, then the on_error policy."""
        try:
            await self._retry_then_decide(slot, exc)
        except asyncio.CancelledError:
            raise
        except BaseException as base:  # a retry or a handler raised KeyboardInterrupt & co.
            self._stop_run_with(base)

    def _stop_run_with(self, exc: BaseException) -> None:
        """A BaseException that is not a failure of one call (KeyboardInterrupt, SystemExit,
        or a user's own BaseException) stops the whole run, and the consumer receives it."""
        self.run.fail(exc)
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise exc  # the event loop must see these too

    async def _retry_then_decide(self, slot: _Slot, exc: Exception) -> None:
        task = self.task
        retry = task.policy.retry
        attempt = 1
        while attempt < retry.attempts:
            delay = retry.delay_after(attempt)
            log.warning(
                "task %r: attempt %d of %d failed on %s: %r; retrying in %.3gs",
                task.name, attempt, retry.attempts, describe_input(task, slot.item), exc, delay,
                extra={"task_name": task.name},
            )
            await asyncio.sleep(delay)
            attempt += 1
            self.stats.retries += 1
            try:
                outputs = await self._call_once(slot.item)
            except Exception as again:
                exc = again
                continue
            self._finish(slot, outputs)
            return
        handler = task.policy.handler
        if handler is not None:
            try:
                go_on, value = _handler_decision(
                    handler, task, await handler.handle_error(exc, slot.item, task.name, attempt)
                )
            except Exception as handler_exc:
                handler_exc.add_note(
                    f"conveyor: raised by the error handler of task {task.name!r} while handling "
                    f"{exc!r} on {describe_input(task, slot.item)}"
                )
                self.run.fail(handler_exc)
                return
            if go_on:
                if value is None:  # the handler chose to drop it: a skip, counted as one
                    self.stats.skipped += slot.weight
                    self._finish(slot, [])
                else:
                    self._finish(slot, self._handler_outputs(value))
                return
        self._give_up(slot, exc, attempt)

    def _handler_outputs(self, value: Any) -> list[Any]:
        # A handler's replacement value follows the task's own return rules; for a
        # generator task it stands for one item.
        if self.shape.fans_out:
            return [value]
        return self.interpret(value)

    async def _call_once(self, item: Any) -> list[Any]:
        """One more attempt, in a fresh context like the first: its checked outputs."""
        context = self.context.copy()
        result = context.run(self.call, item)
        shape = self.shape
        if shape is CallShape.ITERATOR:
            result = context.run(list, result)
        elif shape is not CallShape.VALUE:
            awaitable = _drain(result) if shape is CallShape.ASYNC_ITERATOR else result
            try:
                result = await self.run.spawn(awaitable, context, awaited_by_caller=True)
            except asyncio.CancelledError as exc:
                if not _raised_by_user_code():
                    raise
                raise _unexpected_cancel(self.task, exc) from exc
        return self._checked(result)

    def _give_up(self, slot: _Slot, exc: Exception, attempt: int) -> None:
        task = self.task
        if task.policy.skips:
            self._skip(slot.item, slot.weight, exc, attempt)
            self._finish(slot, [])
            return
        if self.run.stopping:
            return
        self.stats.failed += 1
        self.stats.finished_calls += 1  # it ended, in failure
        log.error(
            "task %r failed on %s after %d attempt(s): %r; stopping the run",
            task.name, describe_input(task, slot.item), attempt, exc,
            extra={"task_name": task.name},
        )
        exc.add_note(failure_note(task, slot.item, attempt))
        if self.path:
            exc.add_note(f"conveyor: in {self.path}")
        self.run.fail(exc)

    def _skip(self, item: Any, weight: int, exc: Exception, attempt: int) -> None:
        task = self.task
        log.warning(
            "task %r: skipping %s after %d attempt(s) (on_error=%r): %r",
            task.name, describe_input(task, item), attempt, task.policy.on_error, exc,
            extra={"task_name": task.name},
        )
        self.stats.skipped += weight

    def release_gate(self) -> None:
        """The run has ended: calls that never finished (cancelled, failed) give
        their room in the task's shared concurrency limit back."""
        if self.gate is not None and self.running:
            self.gate.release(self.running)
        self.running = 0

    def __repr__(self) -> str:
        return f"<Stage {self.task.name!r} running={self.running} held={self.pending_weight + len(self.ready)}>"


async def _drive(stage: Stage, call: Awaitable[Any], slot: _Slot) -> None:
    """Settle a started call, then carry items down the chain, in one flat loop:
    the stack (and so the user's own recursion room) never grows with the chain."""
    while await stage._settle(call, slot):
        carried = stage._adopt_downstream()
        if carried is None:
            return
        stage, suspended = carried
        call, slot = _resume(suspended), suspended.slot


def _handler_decision(handler: object, task: Task[Any, Any], decision: Any) -> tuple[bool, Any]:
    """An error handler's ``(go_on, value)``, checked: any other shape would inject
    items (a string unpacks into two characters) or hide the failure."""
    if isinstance(decision, tuple) and len(decision) == 2 and isinstance(decision[0], bool):
        return decision
    raise TypeError(
        f"error handler {type(handler).__qualname__} of task {task.name!r} returned {decision!r}; "
        f"handle_error must return a tuple (go_on: bool, value): (True, value) to go on with "
        f"value (None drops the item), or (False, anything) to apply on_error"
    )


def _not_prepared(item: Any) -> Any:
    raise RuntimeError("conveyor internal error: a stage was called before its side inputs were resolved")


def _raised_by_user_code() -> bool:
    """Is the CancelledError being handled one that user code raised (say, by awaiting
    a cancelled future), rather than a cancellation of the current task?"""
    task = asyncio.current_task()
    return task is not None and task.cancelling() == 0


def _unexpected_cancel(task: Task[Any, Any], exc: asyncio.CancelledError) -> RuntimeError:
    # Delivered as is, a CancelledError would look like the consumer being cancelled.
    error = RuntimeError(
        f"task {task.name!r} raised CancelledError without being cancelled "
        f"(it awaited something that was cancelled)"
    )
    error.__cause__ = exc
    return error


async def _close_iterator(iterator: Any) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()
        return
    close = getattr(iterator, "close", None)
    if close is not None:
        close()


async def _drain(results: Any) -> list[Any]:
    return [value async for value in results]


class _Carrier(collections.abc.Coroutine[Any, Any, None]):
    """The coroutine of a carrying task, wrapping ``Stage._carry(call, ...)``.

    If the task is cancelled before its first step (the run stopped at once), the
    user's coroutine is closed too, instead of being garbage collected "never awaited".
    """

    __slots__ = ("_body", "_call")

    def __init__(self, body: Coroutine[Any, Any, None], call: Coroutine[Any, Any, Any]) -> None:
        self._body = body
        self._call: Coroutine[Any, Any, Any] | None = call

    def send(self, value: Any) -> Any:
        self._call = None  # started: the body owns the call from now on
        return self._body.send(value)

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Any:
        if self._call is not None:  # cancelled before the first step
            self._call.close()
            self._call = None
        if val is None and tb is None:
            return self._body.throw(typ)  # the one-argument form (the others are deprecated)
        return self._body.throw(typ, val, tb)

    def close(self) -> None:
        if self._call is not None:
            self._call.close()
            self._call = None
        self._body.close()

    def __await__(self) -> Generator[Any, None, None]:
        return self._body.__await__()


class _Suspended(NamedTuple):
    """A coroutine call that suspended during its eager first step."""

    coroutine: Coroutine[Any, Any, Any]
    yielded: Any  # what it yielded to the event loop (a future, or None)
    slot: _Slot
    context: contextvars.Context


@types.coroutine
def _resume(suspended: _Suspended) -> Generator[Any, Any, Any]:
    """Drive a started coroutine to its end inside the current task.

    What the coroutine yields goes to the task machinery unchanged and what comes
    back (values, cancellation) goes to the coroutine, always in its own context.
    """
    coroutine, yielded, _, context = suspended
    send, throw = coroutine.send, coroutine.throw
    while True:
        try:
            value = yield yielded
        except BaseException as exc:
            try:
                yielded = context.run(throw, exc)
            except StopIteration as stop:
                return stop.value
        else:
            try:
                yielded = context.run(send, value)
            except StopIteration as stop:
                return stop.value

