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

Calls that need no waiting (sync functions and generators) run inline in the pump:
no task and no extra hop per item. Coroutine calls get one asyncio task each.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from conveyor.invoke import CallShape
from conveyor.runtime.inputs import END, Outlet
from conveyor.runtime.outcomes import Interpreter, describe_input, failure_note, interpreter_for, log
from conveyor.runtime.side_inputs import prepare_call
from conveyor.task import BatchTask, Task

if TYPE_CHECKING:
    from conveyor.runtime.scheduler import Run

__all__ = ["Stage"]

_TIMED_OUT: Any = object()


class _Slot:
    """One call: its input, how many stream items it stands for, and its outputs."""

    __slots__ = ("item", "weight", "outputs")

    def __init__(self, item: Any, weight: int) -> None:
        self.item = item
        self.weight = weight
        self.outputs: list[Any] | None = None  # None while the call is running


class Stage:
    def __init__(
        self,
        run: Run,
        task: Task[Any, Any],
        upstream: Outlet,
        *,
        ordered: bool,
        max_in_flight: int | None,
    ) -> None:
        self.run = run
        self.task = task
        self.upstream = upstream
        self.ordered = ordered
        self.shape = task.invoker.shape
        self.interpret: Interpreter = interpreter_for(task, self.shape)
        self.window = max_in_flight if max_in_flight is not None else float("inf")
        limit = task.concurrency_limit
        self.limit = limit if limit is not None else float("inf")
        self.ready: deque[Any] = deque()  # outputs waiting to be pulled
        self.slots: deque[_Slot] = deque()  # ordered mode: calls not yet released
        self.running = 0  # calls started and not finished (retries included)
        self.pending_weight = 0  # items in slots not yet released to ``ready``
        self.input_done = False
        self._reader: asyncio.Future[None] | None = None
        self._pump_waiter: asyncio.Future[None] | None = None

    # -- outlet side -------------------------------------------------------------------

    async def get(self) -> Any:
        while True:
            if self.ready:
                item = self.ready.popleft()
                self._wake_pump()
                return item
            if self.input_done and self.pending_weight == 0:
                return END
            if self.run.error is not None:
                return END  # the run is failing; the consumer gets the error from the run
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

    async def pump(self) -> None:
        try:
            call = await prepare_call(self.task)
            if self.task.is_source and self.shape.fans_out:
                await self._pump_source(call)
            elif isinstance(self.task, BatchTask):
                await self._pump_batches(call, self.task)
            else:
                await self._pump_items(call)
            self.input_done = True
            self.wake_reader()
        except Exception as exc:
            self.run.fail(exc)

    async def _pump_items(self, call: Callable[[Any], Any]) -> None:
        upstream_get = self.upstream.get
        while True:
            if self.running >= self.limit or self.pending_weight + len(self.ready) >= self.window:
                await self._wait_for_room(1)
            item = await upstream_get()
            if item is END:
                return
            self._start(call, item, 1)

    async def _pump_batches(self, call: Callable[[Any], Any], task: BatchTask[Any, Any]) -> None:
        max_size = task.max_size if task.max_size is not None else float("inf")
        ready_size = max(task.min_size, 1)
        timed = task.max_wait is not None
        next_item = self._timed_getter() if timed else None
        batch: list[Any] = []
        deadline = 0.0
        while True:
            timeout = None
            if timed and len(batch) >= ready_size:
                timeout = deadline - self.run.loop.time()
                if timeout <= 0:
                    await self._dispatch_batch(call, batch)
                    batch = []
                    continue
            item = await next_item(timeout) if next_item is not None else await self.upstream.get()
            if item is _TIMED_OUT:
                continue  # the deadline passed: the check above dispatches the batch
            if item is END:
                break
            if not batch and timed:
                deadline = self.run.loop.time() + (task.max_wait or 0.0)
            batch.append(item)
            if len(batch) >= max_size:
                await self._dispatch_batch(call, batch)
                batch = []
        if batch:  # the remainder is always processed, even below min_size
            await self._dispatch_batch(call, batch)

    async def _dispatch_batch(self, call: Callable[[Any], Any], batch: list[Any]) -> None:
        await self._wait_for_room(len(batch))
        self._start(call, batch, len(batch))

    def _timed_getter(self) -> Callable[[float | None], Any]:
        """``get`` with a timeout that never cancels the upstream pull it waits on."""
        pending: list[asyncio.Task[Any]] = []

        async def next_item(timeout: float | None) -> Any:
            if not pending:
                pending.append(self.run.spawn(self.upstream.get()))
            done, _ = await asyncio.wait(pending, timeout=timeout)
            if not done:
                return _TIMED_OUT
            return pending.pop().result()

        return next_item

    async def _wait_for_room(self, weight: int) -> None:
        # An empty stage always admits one call, so a batch larger than the window runs.
        while self.running >= self.limit or (
            self.pending_weight + len(self.ready) + weight > self.window
            and self.pending_weight + len(self.ready) > 0
        ):
            self._pump_waiter = self.run.loop.create_future()
            try:
                await self._pump_waiter
            finally:
                self._pump_waiter = None

    async def _pump_source(self, call: Callable[[Any], Any]) -> None:
        """A source generator is streamed lazily: it is the stream, possibly endless."""
        produced = call(None)
        self.running = 1
        self.pending_weight = 1  # keeps ``get`` waiting until the generator ends
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
            self.running = 0
            self.pending_weight = 0

    async def _emit_source_value(self, value: Any) -> int:
        if value is None:
            return 0
        if len(self.ready) >= self.window:
            await self._wait_for_room(1)
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
        exc.add_note(note)
        raise exc

    # -- calls -----------------------------------------------------------------------------

    def _start(self, call: Callable[[Any], Any], item: Any, weight: int) -> None:
        slot = _Slot(item, weight)
        if self.ordered:
            self.slots.append(slot)
        self.pending_weight += weight
        self.running += 1
        shape = self.shape
        try:
            result = call(item)
            if shape is CallShape.VALUE:
                self._finish(slot, self.interpret(result))
                return
            if shape is CallShape.ITERATOR:
                self._finish(slot, self.interpret(list(result)))
                return
        except Exception as exc:
            self._after_failure(call, slot, exc)
            return
        if shape is CallShape.ASYNC_ITERATOR:
            result = _drain(result)
        task = self.run.spawn(result)
        task.add_done_callback(lambda t: self._on_call_done(call, slot, t))

    def _on_call_done(self, call: Callable[[Any], Any], slot: _Slot, task: asyncio.Task[Any]) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is None:
            self._finish(slot, self.interpret(task.result()))
        elif isinstance(exc, Exception):
            self._after_failure(call, slot, exc)
        else:  # KeyboardInterrupt and friends are not task failures
            self.run.fail(exc)

    def _finish(self, slot: _Slot, outputs: list[Any]) -> None:
        self.running -= 1
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

    def _after_failure(self, call: Callable[[Any], Any], slot: _Slot, exc: Exception) -> None:
        policy = self.task.policy
        if policy.retry.attempts > 1 or policy.handler is not None:
            self.run.spawn(self._recover(call, slot, exc))
        else:
            self._give_up(slot, exc, attempt=1)

    async def _recover(self, call: Callable[[Any], Any], slot: _Slot, exc: Exception) -> None:
        """Retries with backoff, then the error handler, then the on_error policy."""
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
            try:
                result = await self._call_once(call, slot.item)
            except Exception as again:
                exc = again
                continue
            self._finish(slot, self.interpret(result))
            return
        handler = task.policy.handler
        if handler is not None:
            try:
                go_on, value = await handler.handle_error(exc, slot.item, task.name, attempt)
            except Exception as handler_exc:
                handler_exc.add_note(
                    f"conveyor: raised by the error handler of task {task.name!r} while handling "
                    f"{exc!r} on {describe_input(task, slot.item)}"
                )
                self.run.fail(handler_exc)
                return
            if go_on:
                outputs = [] if value is None else self._handler_outputs(value)
                self._finish(slot, outputs)
                return
        self._give_up(slot, exc, attempt)

    def _handler_outputs(self, value: Any) -> list[Any]:
        # A handler's replacement value follows the task's own return rules; for a
        # generator task it stands for one item.
        if self.shape.fans_out:
            return [value]
        return self.interpret(value)

    async def _call_once(self, call: Callable[[Any], Any], item: Any) -> Any:
        result = call(item)
        shape = self.shape
        if shape is CallShape.AWAITABLE:
            return await result
        if shape is CallShape.ASYNC_ITERATOR:
            return await _drain(result)
        if shape is CallShape.ITERATOR:
            return list(result)
        return result

    def _give_up(self, slot: _Slot, exc: Exception, attempt: int) -> None:
        task = self.task
        if task.policy.skips:
            log.warning(
                "task %r: skipping %s after %d attempt(s) (on_error=%r): %r",
                task.name, describe_input(task, slot.item), attempt, task.policy.on_error, exc,
                extra={"task_name": task.name},
            )
            self._finish(slot, [])
            return
        log.error(
            "task %r failed on %s after %d attempt(s): %r; stopping the run",
            task.name, describe_input(task, slot.item), attempt, exc,
            extra={"task_name": task.name},
        )
        exc.add_note(failure_note(task, slot.item, attempt))
        self.run.fail(exc)

    def __repr__(self) -> str:
        return f"<Stage {self.task.name!r} running={self.running} held={self.pending_weight + len(self.ready)}>"


async def _drain(results: Any) -> list[Any]:
    return [value async for value in results]

