"""Running a task's calls through its executor: the per-run callable and the sessions.

A task with ``executor=`` other than "inline" gets, for each run, a ``Session``
of its backend (conveyor/executors.py) and a prepared callable that submits each
call to it and awaits the result on the loop. To the stage the task then looks
like an async one: a sync function becomes an ``AWAITABLE`` call, a sync generator
(run whole in the worker, its values sent back as one list) an ``ASYNC_ITERATOR``
one. Nothing else in the scheduler knows about executors: retries, on_error,
ordering and bounds apply unchanged, and the run closes its sessions when it
winds down (``close_sessions``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import Any

from conveyor.executors import Backend, Session, SessionSpec, is_inline, run_call
from conveyor.invoke import CallShape
from conveyor.runtime.outcomes import log
from conveyor.task import Task

__all__ = ["call_shape", "offloaded_call", "close_sessions"]


def call_shape(task: Task[Any, Any]) -> CallShape:
    """The shape of the task's calls as the stage sees them in a run."""
    shape = task.invoker.shape
    if is_inline(task.executor):
        return shape
    return CallShape.ASYNC_ITERATOR if shape is CallShape.ITERATOR else CallShape.AWAITABLE


def backend_for(spec: object) -> Backend:
    from conveyor.runtime import backends

    if isinstance(spec, Backend):
        return spec
    if spec == "thread":
        return backends.ThreadBackend()
    if spec == "process":
        return backends.ProcessBackend()
    assert isinstance(spec, Executor), spec  # checked at decoration
    return backends.UserExecutorBackend(spec)


async def offloaded_call(
    task: Task[Any, Any],
    positional: Sequence[tuple[str, Any]],
    keywords: dict[str, Any],
    sessions: list[Session],
) -> Callable[[Any], Any]:
    """Open the task's session (registered with the run at once, so it is closed even if
    what follows fails), send its side inputs, and return the per-call callable."""
    fn = task.invoker.fn
    spec = SessionSpec(task.name, fn, task.concurrency_limit, task.defined_at, task.timeout)
    session = await backend_for(task.executor).open(spec)
    sessions.append(session)
    extra = tuple([await session.share(name, value) for name, value in positional])
    kw = {name: await session.share(name, value) for name, value in keywords.items()}
    submit = session.submit
    iterate = task.invoker.shape is CallShape.ITERATOR
    source = task.is_source

    if iterate:

        async def generate(item: Any) -> Any:
            args = extra if source else (item, *extra)
            for value in await submit(run_call, fn, True, *args, **kw):
                yield value

        return generate

    async def call(item: Any) -> Any:
        args = extra if source else (item, *extra)
        return await submit(run_call, fn, False, *args, **kw)

    return call


async def close_sessions(sessions: list[Session]) -> None:
    """Close every session of a run, once each, even if one of them fails."""
    while sessions:
        session = sessions.pop()
        try:
            await session.aclose()
        except asyncio.CancelledError:
            sessions.clear()
            raise
        except Exception as exc:  # the run's own outcome stands; say what happened
            log.warning("closing the executor session %r raised %r", session, exc)
