"""Per-call timeouts at run time: a loop timer that cancels the task holding a call.

Nothing is armed for a call that finishes inline (a coroutine that never suspends
cannot be cancelled anyway, and most calls are of that kind), so a timeout costs
nothing on the hot path. A call that suspends gets a ``Deadline``: one
``loop.call_at`` handle, due ``timeout`` seconds after the call started, that
cancels whichever task runs the call (the pump that started it eagerly, a carrying
task, or the call's own task). When the call ends the handle is cancelled; if it
fired, the cancellation is taken back (``uncancel``, as ``asyncio.timeout`` does)
and the call's failure is a ``TimeoutError`` naming the task, the item, the attempt
and the limit. The user's own ``asyncio.timeout()`` blocks inside the call keep
working: they see a cancellation they did not ask for and let it pass.
"""

from __future__ import annotations

import asyncio
from time import perf_counter
from typing import Any

from conveyor.runtime.calls import raised_by_user_code, unexpected_cancel
from conveyor.runtime.outcomes import describe_input
from conveyor.task import Task

__all__ = ["Deadline", "arm", "timeout_error", "within"]


class Deadline:
    """The timer of one running call, and whether it fired."""

    __slots__ = ("handle", "task", "expired")

    def __init__(self, loop: asyncio.AbstractEventLoop, when: float, task: asyncio.Task[Any]) -> None:
        self.task = task
        self.expired = False
        self.handle = loop.call_at(when, self._expire)

    def _expire(self) -> None:
        self.expired = True
        self.task.cancel("conveyor: the call ran past its timeout")

    def end(self) -> bool:
        """The call has ended: stop the timer. True if the timer cancelled the call and
        nobody else did (the caller then reports a TimeoutError, not the cancellation)."""
        self.handle.cancel()
        if not self.expired:
            return False
        task = self.task
        if task.done():  # the call's own task: its cancellation needs no taking back
            return task.cancelled()
        task.uncancel()
        return task.cancelling() == 0


def arm(loop: asyncio.AbstractEventLoop, timeout: float, started: float, task: asyncio.Task[Any]) -> Deadline:
    """A deadline ``timeout`` seconds after ``started`` (a ``perf_counter`` reading) for
    the call that ``task`` runs."""
    return Deadline(loop, loop.time() + timeout - (perf_counter() - started), task)


def timeout_error(task: Task[Any, Any], item: Any, attempt: int, cause: BaseException | None) -> TimeoutError:
    limit = task.timeout
    error = TimeoutError(f"task {task.name!r} timed out: a call ran longer than timeout={limit:g} s")
    error.__cause__ = cause  # the cancellation's traceback shows where the call was waiting
    error.add_note(
        f"conveyor: task {task.name!r} (defined at {task.defined_at}) was cancelled after "
        f"timeout={limit:g} s on {describe_input(task, item)} "
        f"(attempt {attempt} of {task.policy.retry.attempts})"
    )
    return error


async def within(task: Task[Any, Any], call: asyncio.Task[Any], item: Any, attempt: int) -> Any:
    """Await a retry's own task under the task's timeout (the retry's caller is not
    cancelled: only the attempt's task is)."""
    assert task.timeout is not None
    deadline = arm(asyncio.get_running_loop(), task.timeout, perf_counter(), call)
    try:
        return await call
    except asyncio.CancelledError as exc:
        if not raised_by_user_code():
            raise  # the run is stopping
        if deadline.end():
            raise timeout_error(task, item, attempt, exc) from exc
        raise unexpected_cancel(task, exc) from exc
    finally:
        deadline.handle.cancel()
