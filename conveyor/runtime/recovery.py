"""What happens after a call fails: retries with backoff (each attempt in a fresh
context), the error handler (its answer checked), then the ``on_error`` policy.

A mixin of the `Stage` (runtime/stage.py): the hot path stays in the stage,
and failures, which are rare, live here.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from conveyor.invoke import CallShape
from conveyor.rate_limit import RateLimiter
from conveyor.runtime.calls import Slot, drain, raised_by_user_code, unexpected_cancel
from conveyor.runtime.dead_letters import DeadLetterInlet, records_for
from conveyor.runtime.deadlines import within
from conveyor.runtime.rate_waits import take_token
from conveyor.runtime.outcomes import Interpreter, describe_input, failure_note, log
from conveyor.runtime.stats import StageStats
from conveyor.task import Task

if TYPE_CHECKING:
    from conveyor.runtime.scheduler import Run

__all__ = ["Recovery", "handler_decision"]

T = TypeVar("T")


class Recovery:
    """Failure handling for a stage (the attributes and methods below are the stage's)."""

    #: The inlet of the task's dead-letter branch (set by the wiring), or None.
    dead_letters: DeadLetterInlet | None = None

    if TYPE_CHECKING:
        run: Run
        task: Task[Any, Any]
        stats: StageStats
        context: contextvars.Context
        call: Callable[[Any], Any]
        shape: CallShape
        interpret: Interpreter
        path: str
        limiter: RateLimiter | None

        def _finish(self, slot: Slot, outputs: list[Any]) -> None: ...

        def _checked(self, result: Any) -> list[Any]: ...

    def _after_failure(self, slot: Slot, exc: Exception) -> None:
        if self.run.stopping:
            return  # the run already failed or was closed: this is a consequence, not news
        policy = self.task.policy
        if policy.retry.attempts > 1 or policy.handler is not None:
            self.run.spawn(self._recover(slot, exc))
        else:
            self._give_up(slot, exc, attempt=1)

    async def _recover(self, slot: Slot, exc: Exception) -> None:
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

    async def _retry_then_decide(self, slot: Slot, exc: Exception) -> None:
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
                outputs = await self._call_once(slot.item, attempt)
            except Exception as again:
                exc = again
                continue
            self._finish(slot, outputs)
            return
        handler = task.policy.handler
        if handler is not None:
            try:
                go_on, value = handler_decision(
                    handler, task, await _user_call(task, handler.handle_error(exc, slot.item, task.name, attempt))
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
                    self._keep_record(slot.item, exc, attempt)
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

    async def _call_once(self, item: Any, attempt: int) -> list[Any]:
        """One more attempt, in a fresh context like the first: its checked outputs."""
        if self.limiter is not None:  # a retry calls the service again: it waits its turn too
            await take_token(self.limiter, self.stats)
        context = self.context.copy()
        shape = self.shape
        try:
            result = context.run(self.call, item)
            if shape is CallShape.ITERATOR:
                result = context.run(list, result)
        except asyncio.CancelledError as exc:  # raised by a sync call: a failure of it
            if not raised_by_user_code():
                raise
            raise unexpected_cancel(self.task, exc) from exc
        if shape is not CallShape.VALUE and shape is not CallShape.ITERATOR:
            awaitable = drain(result) if shape is CallShape.ASYNC_ITERATOR else result
            call = self.run.spawn(awaitable, context, awaited_by_caller=True)
            if self.task.timeout is None:
                result = await _user_call(self.task, call)
            else:
                result = await within(self.task, call, item, attempt)
        return self._checked(result)

    def _give_up(self, slot: Slot, exc: Exception, attempt: int) -> None:
        task = self.task
        if self.dead_letters is not None:  # the branch takes it, whatever on_error says
            self._dead_letter(slot, exc, attempt)
            return
        if task.policy.skips:
            self._skip(slot.item, slot.weight, exc, attempt)
            self._keep_record(slot.item, exc, attempt)
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
        self._add_failure_notes(exc, slot.item, attempt)
        self._keep_record(slot.item, exc, attempt)
        self.run.fail(exc)

    def _dead_letter(self, slot: Slot, exc: Exception, attempt: int) -> None:
        """Send the records of a final failure to the task's dead-letter branch; the
        call ends once the branch's inlet has taken them."""
        task = self.task
        inlet = self.dead_letters
        assert inlet is not None
        log.warning(
            "task %r: dead-lettering %s after %d attempt(s): %r",
            task.name, describe_input(task, slot.item), attempt, exc,
            extra={"task_name": task.name},
        )
        self._add_failure_notes(exc, slot.item, attempt)
        self.stats.dead_lettered += slot.weight
        inlet.offer(records_for(task, slot.item, exc, attempt, self.path), self, slot)  # type: ignore[arg-type]  # self is the Stage

    def _add_failure_notes(self, exc: Exception, item: Any, attempt: int) -> None:
        """The task, the item, the attempt, and the branch the task sits in."""
        exc.add_note(failure_note(self.task, item, attempt))
        if self.path:
            exc.add_note(f"conveyor: in {self.path}")

    def _keep_record(self, item: Any, exc: Exception, attempt: int) -> None:
        """A final failure no branch takes: kept for ``stream.failures``."""
        if not self.task.is_source:
            self.run.failures.add(records_for(self.task, item, exc, attempt, self.path))

    def _skip(self, item: Any, weight: int, exc: Exception, attempt: int) -> None:
        task = self.task
        log.warning(
            "task %r: skipping %s after %d attempt(s) (on_error=%r): %r",
            task.name, describe_input(task, item), attempt, task.policy.on_error, exc,
            extra={"task_name": task.name},
        )
        self.stats.skipped += weight


async def _user_call(task: Task[Any, Any], awaitable: Awaitable[T]) -> T:
    """Await user code; a CancelledError it raises (rather than one cancelling us) is a
    RuntimeError failure, never a silent end of the retrying task (which would hang the run)."""
    try:
        return await awaitable
    except asyncio.CancelledError as exc:
        if not raised_by_user_code():
            raise
        raise unexpected_cancel(task, exc) from exc


def handler_decision(handler: object, task: Task[Any, Any], decision: Any) -> tuple[bool, Any]:
    """An error handler's ``(go_on, value)``, checked: any other shape would inject
    items (a string unpacks into two characters) or hide the failure."""
    if isinstance(decision, tuple) and len(decision) == 2 and isinstance(decision[0], bool):
        return decision
    raise TypeError(
        f"error handler {type(handler).__qualname__} of task {task.name!r} returned {decision!r}; "
        f"handle_error must return a tuple (go_on: bool, value): (True, value) to go on with "
        f"value (None drops the item), or (False, anything) to apply on_error"
    )
