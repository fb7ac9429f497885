"""The pump of a stage: pulls items from upstream, groups them into batches,
waits while the stage is full, and starts one call per item or batch; a source
task's generator is read here too, lazily (it is the stream).

The pump role can move between tasks. A coroutine call is first run eagerly,
inside the pump; most finish without suspending and cost no task at all. When one
does suspend, the task that started it keeps it (so ``asyncio.current_task()`` and
``asyncio.timeout()`` inside the user's code stay right) and a new task takes over
the pump. All pump state therefore lives on the stage, not in locals.

A mixin of the ``Stage`` (runtime/stage.py), whose attributes it declares below.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from time import perf_counter
from typing import TYPE_CHECKING, Any, TypeVar

from conveyor.concurrency import ConcurrencyGate
from conveyor.errors import ItemTypeError
from conveyor.invoke import CallShape
from conveyor.rate_limit import RateLimiter
from conveyor.runtime.batching import TIMED_OUT, Batching
from conveyor.runtime.calls import Slot, Suspended, close_iterator, raised_by_user_code, unexpected_cancel
from conveyor.runtime.checks import ItemChecker
from conveyor.runtime.groups import NOTHING, Leading
from conveyor.runtime.inputs import EMPTY, END, Outlet
from conveyor.runtime.outcomes import NEVER_AWAITABLE, log
from conveyor.runtime.rate_waits import take_token
from conveyor.runtime.side_inputs import prepare_call
from conveyor.runtime.stats import StageStats
from conveyor.task import Task

if TYPE_CHECKING:
    from conveyor.runtime.scheduler import Run

__all__ = ["Pump", "YIELD_EVERY"]

T = TypeVar("T")

#: The pump gives the event loop a turn after starting this many calls in a row.
YIELD_EVERY = 128


class Pump:
    """Pulling and starting for a stage (the attributes and methods below are the stage's)."""

    if TYPE_CHECKING:
        run: Run
        task: Task[Any, Any]
        upstream: Outlet
        stats: StageStats
        check: ItemChecker | None
        shape: CallShape
        call: Callable[[Any], Any]
        batch: Batching | None
        gate: ConcurrencyGate | None
        limiter: RateLimiter | None
        window: float
        ready: deque[Any]
        slots: deque[Slot]
        pending_weight: int
        ordered: bool
        tracking: bool
        holding: bool
        prepared: bool
        input_done: bool
        _pump_waiter: asyncio.Future[None] | None

        def _start(self, item: Any, weight: int, *, adopted: bool = False) -> Suspended | None: ...
        async def _continue(self, suspended: Suspended) -> None: ...
        def _stop_run_with(self, exc: BaseException) -> None: ...
        def _skip(self, item: Any, weight: int, exc: Exception, attempt: int) -> None: ...
        def _checked(self, result: Any) -> list[Any]: ...
        def wake_reader(self) -> None: ...
        def _wake_pump(self) -> None: ...

    #
    # The pump role can move between tasks. A coroutine call is first run eagerly,
    # inside the pump; most finish without suspending and cost no task at all. When
    # one does suspend, the task that started it keeps it (so asyncio.current_task()
    # and asyncio.timeout() inside the user's code stay right) and a new task takes
    # over the pump. All pump state therefore lives on the stage, not in locals.

    async def pump(self) -> None:
        """The stage's first task: resolve side inputs (unless done already), then pump."""
        if not self.prepared and not await self.prepare():
            return
        if self.task.is_source and self.shape.fans_out:
            ok, _ = await self._guarded(self._pump_source(self.call))
            if ok:
                self._end_of_input()
            return
        await self._pump()

    async def prepare(self) -> bool:
        """Resolve the side inputs, once per run; False after failing the run with what that raised."""
        ok, self.call = await self._guarded(prepare_call(self.task, self.run.sessions))
        if ok:
            self.prepared = True  # side inputs resolved: carrying tasks may start calls here now
        return ok

    async def _guarded(self, work: Awaitable[T]) -> tuple[bool, Any]:
        """(True, result), or (False, None) after failing the run with what ``work`` raised."""
        try:
            return True, await work
        except Exception as exc:
            self.run.fail(exc)
        except asyncio.CancelledError as exc:
            if not raised_by_user_code():
                raise
            self.run.fail(unexpected_cancel(self.task, exc))
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

    async def _pump_items(self) -> Suspended | None:
        upstream_get, upstream_get_nowait = self.upstream.get, self.upstream.get_nowait
        start = self._start
        gate, window, ready = self.gate, self.window, self.ready
        tracking, limiter = self.tracking, self.limiter
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
            if tracking and item is NOTHING:
                self.pass_nothing()
                continue
            if limiter is not None:  # a stopping run cancels this wait
                await take_token(limiter, self.stats)
            suspended = start(item, 1)
            if suspended is not None:
                return suspended

    async def _pump_batches(self) -> Suspended | None:
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
            if item is NOTHING:  # an input item with no output: it ends here
                if batching.items:
                    batching.marks.append(len(batching.items))
                else:
                    self.pass_nothing()
                continue
            if item is not TIMED_OUT and not self._add_to_batch(batching, item):
                continue
            suspended = await self._dispatch_batch()  # full, or due after max_wait
            if suspended is not None or self.run.stopping:
                return suspended
        if batching.items:  # the remainder is always processed, even below min_size
            return await self._dispatch_batch()
        return None

    async def _dispatch_batch(self) -> Suspended | None:
        assert self.batch is not None
        batch = self.batch.take()  # a MarkedBatch in an ordered branch: see _placed
        await self._wait_for_room(len(batch))
        if self.limiter is not None:
            await take_token(self.limiter, self.stats)
        return self._start(batch, len(batch))

    def _add_to_batch(self, batching: Batching, item: Any) -> bool:
        """Add one item; True when the batch is full. In an ordered branch, note where
        each input item's outputs end (runtime/groups.py)."""
        if not self.tracking:
            return batching.add(item, self.run.loop.time())
        if type(item) is Leading:
            return batching.add(item.value, self.run.loop.time())
        full = batching.add(item, self.run.loop.time())
        batching.marks.append(len(batching.items))
        return full

    def pass_nothing(self) -> None:
        """Pass on an input item that gave nothing upstream, after the outputs of
        every call started before it."""
        if self.ordered and self.slots:
            slot = Slot(None, 0, 0.0)
            slot.outputs = [NOTHING]
            self.slots.append(slot)
        else:
            self.ready.append(NOTHING)
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
            await close_iterator(produced)

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
