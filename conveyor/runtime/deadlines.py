"""Per-call timeouts at run time: a loop timer that cancels the task holding a call.

Nothing is armed for a call that finishes inline (a coroutine that never suspends
cannot be cancelled anyway, and most calls are of that kind), so a timeout costs
nothing on the hot path. A call that suspends gets a ``Deadline``, due ``timeout``
seconds after the call started, that cancels whichever task runs the call (the pump
that started it eagerly, a carrying task, or the call's own task); a stage's
deadlines share one loop timer (``Deadlines``). When the call ends its deadline is
marked ended; if it fired, the cancellation is taken back (``uncancel``, as
``asyncio.timeout`` does)
and the call's failure is a ``TimeoutError`` naming the task, the item, the attempt
and the limit. The user's own ``asyncio.timeout()`` blocks inside the call keep
working: they see a cancellation they did not ask for and let it pass.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from time import perf_counter
from typing import Any

from conveyor.runtime.calls import raised_by_user_code, unexpected_cancel
from conveyor.runtime.outcomes import describe_input
from conveyor.task import Task

__all__ = ["Deadline", "Deadlines", "timeout_error", "within"]


class Deadline:
    """The limit of one running call, and whether it fired."""

    __slots__ = ("when", "task", "expired", "ended", "owner")

    def __init__(self, when: float, task: asyncio.Task[Any], owner: Deadlines | None = None) -> None:
        self.when = when
        self.task: asyncio.Task[Any] | None = task
        self.expired = False
        self.ended = False
        self.owner = owner

    def expire(self) -> None:
        self.expired = True
        if self.task is not None:
            self.task.cancel("conveyor: the call ran past its timeout")

    def end(self) -> bool:
        """The call has ended: its limit no longer applies. True if the limit cancelled
        the call and nobody else did (the caller then reports a TimeoutError, not the
        cancellation)."""
        if self.ended:
            return False
        self.ended = True
        task, self.task = self.task, None  # an ended deadline keeps nothing alive
        if self.owner is not None:
            self.owner.live -= 1
        if not self.expired or task is None:
            return False
        if task.done():  # the call's own task: its cancellation needs no taking back
            return task.cancelled()
        task.uncancel()
        return task.cancelling() == 0


class Deadlines:
    """The deadlines of one stage's calls. Every call of a stage has the same limit, so
    they fall due in the order they were armed: one loop timer, set for the earliest
    one still running, serves them all, and a call that ends only marks its entry (no
    timer to cancel, no heap to update). Ended entries are dropped as the head passes
    them, or all at once when they outnumber the running calls, so the queue stays
    within twice the calls running."""

    __slots__ = ("loop", "timeout", "queue", "live", "handle")

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout: float) -> None:
        self.loop = loop
        self.timeout = timeout
        self.queue: deque[Deadline] = deque()
        self.live = 0
        self.handle: asyncio.TimerHandle | None = None

    def arm(self, started: float, task: asyncio.Task[Any]) -> Deadline:
        """The deadline of the call that ``task`` runs, started at ``started`` (a
        ``perf_counter`` reading)."""
        deadline = Deadline(self.loop.time() + self.timeout - (perf_counter() - started), task, self)
        queue = self.queue
        queue.append(deadline)
        self.live += 1
        if self.handle is None:
            self.handle = self.loop.call_at(deadline.when, self._fire)
        elif len(queue) > 2 * self.live + 64:
            self.queue = deque(d for d in queue if not d.ended)
        return deadline

    def _fire(self) -> None:
        self.handle = None
        now = self.loop.time() + _RESOLUTION  # call_at fires up to the clock's resolution early
        queue = self.queue
        while queue:
            head = queue[0]
            if not head.ended:
                if head.when > now:
                    self.handle = self.loop.call_at(head.when, self._fire)
                    return
                head.expire()
            queue.popleft()

    def close(self) -> None:
        """The run has ended."""
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None
        self.queue.clear()


_RESOLUTION = time.get_clock_info("monotonic").resolution


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
    deadline = Deadline(0.0, call)
    handle = asyncio.get_running_loop().call_later(task.timeout, deadline.expire)
    try:
        return await call
    except asyncio.CancelledError as exc:
        if not raised_by_user_code():
            raise  # the run is stopping
        if deadline.end():
            raise timeout_error(task, item, attempt, exc) from exc
        raise unexpected_cancel(task, exc) from exc
    finally:
        handle.cancel()
        deadline.end()
