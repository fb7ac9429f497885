"""The pieces of one call that the stage and its recovery share: the slot a call
holds, a coroutine call that suspended during its eager first step and how to drive
it on in the current task, and small helpers
around user code (draining async iterators, closing generators, telling a user's
CancelledError from a cancellation)."""

from __future__ import annotations

import asyncio
import collections.abc
import contextvars
import types
from collections.abc import Coroutine, Generator
from typing import TYPE_CHECKING, Any, NamedTuple

from conveyor.task import Task

if TYPE_CHECKING:
    from conveyor.runtime.deadlines import Deadline

__all__ = [
    "Slot", "Suspended", "resume", "drain", "close_iterator",
    "raised_by_user_code", "unexpected_cancel", "not_prepared",
]


class Slot:
    """One call: its input, how many stream items it stands for, and its outputs."""

    __slots__ = ("item", "weight", "outputs", "started", "deadline", "leading")

    def __init__(self, item: Any, weight: int, started: float) -> None:
        self.item = item
        self.weight = weight
        self.outputs: list[Any] | None = None  # None while the call is running
        self.started = started
        self.deadline: Deadline | None = None  # the timer of a task with a timeout, once the call suspends
        self.leading = False  # in an ordered branch: more outputs of its input item follow


def not_prepared(item: Any) -> Any:
    raise RuntimeError("conveyor internal error: a stage was called before its side inputs were resolved")


def raised_by_user_code() -> bool:
    """Is the CancelledError being handled one that user code raised (say, by awaiting
    a cancelled future), rather than a cancellation of the current task?"""
    task = asyncio.current_task()
    return task is not None and task.cancelling() == 0


def unexpected_cancel(task: Task[Any, Any], exc: asyncio.CancelledError) -> RuntimeError:
    # Delivered as is, a CancelledError would look like the consumer being cancelled.
    error = RuntimeError(
        f"task {task.name!r} raised CancelledError without being cancelled "
        f"(it awaited something that was cancelled)"
    )
    error.__cause__ = exc
    return error


async def close_iterator(iterator: Any) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()
        return
    close = getattr(iterator, "close", None)
    if close is not None:
        close()


async def drain(results: Any) -> list[Any]:
    return [value async for value in results]


class Suspended(NamedTuple):
    """A coroutine call that suspended during its eager first step."""

    coroutine: Coroutine[Any, Any, Any]
    yielded: Any  # what it yielded to the event loop (a future, or None)
    slot: Slot
    context: contextvars.Context


@types.coroutine
def resume(suspended: Suspended) -> Generator[Any, Any, Any]:
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
