"""Per-worker side inputs at run time: made where the call runs, once per worker, closed at the end.

A ``per_worker(factory)`` side input of a task travels to its workers as a small
``PerWorker`` handle (the factory and a token fresh for each run and task). The
worker that runs a call asks the handle for its value (``resolve()``, see
``conveyor.executors.run_call``); the first ask in that worker makes it. "A worker"
is one thread for thread pools, one Dask worker (several may share a process), and
one process otherwise. Made values are kept in this module, keyed by token and
worker, and closed (``close()`` or ``aclose()``):

- for values in this process (inline, threads, an in-process Dask worker): by
  ``close_made(token)`` when the run winds down;
- on a Dask worker: by the backend, which runs ``close_made`` on every worker;
- in a worker process of a pool: when that process exits (a multiprocessing
  finalizer), i.e. when a pool the run made shuts down at the end of the run.
"""

from __future__ import annotations

import inspect
import multiprocessing
import os
import sys
import threading
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from conveyor.executors import InWorker, Session, is_inline

if TYPE_CHECKING:
    from conveyor.side_inputs import SideInput
    from conveyor.task import Task

__all__ = ["PerWorker", "per_worker_value", "close_made", "made_count"]

#: (token, worker) -> the value made there. Shared by the threads of a process.
_MADE: dict[tuple[str, tuple[Any, ...]], Any] = {}
_LOCKS: dict[tuple[str, tuple[Any, ...]], threading.Lock] = {}


def per_worker_value(task: Task[Any, Any], side: SideInput, sessions: list[Session]) -> Any:
    """What the task's calls get for a ``per_worker`` side input in this run: the value
    itself when inline (made now), else a handle that each worker resolves."""
    token = f"{task.name}.{side.param}.{uuid.uuid4().hex}"
    per_thread = task.executor == "thread" or isinstance(task.executor, ThreadPoolExecutor)
    handle = PerWorker(side.source, token, side.param, task.name, per_thread=per_thread, annotation=side.annotation)
    # Added before the task's own session (if any), so closed after it: once its calls have ended.
    sessions.append(MadeHere(token))
    return handle.resolve() if is_inline(task.executor) else handle


class MadeHere(Session):
    """Closes, when the run ends, the per-worker values of one side input made in this
    process (inline, by threads, by in-process Dask workers). It runs no calls."""

    def __init__(self, token: str) -> None:
        self.token = token

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Awaitable[Any]:
        raise NotImplementedError("MadeHere runs no calls")

    async def aclose(self) -> None:
        await close_made(self.token)


class PerWorker(InWorker):
    """What a call receives for a ``per_worker`` side input until it runs: pickles as its
    factory and token, becomes the worker's value in the worker."""

    __slots__ = ("factory", "token", "param", "task_name", "per_thread", "annotation")

    def __init__(
        self, factory: Callable[[], Any], token: str, param: str, task_name: str, *, per_thread: bool, annotation: Any = Any,
    ) -> None:
        self.factory = factory
        self.token = token
        self.param = param
        self.task_name = task_name
        self.per_thread = per_thread  # a thread pool: one value per thread (the factory's value may not be thread-safe)
        self.annotation = annotation

    def __reduce__(self) -> tuple[Any, ...]:
        return _rebuild, (self.factory, self.token, self.param, self.task_name, self.per_thread, self.annotation)

    def resolve(self) -> Any:
        key = (self.token, _where(self.per_thread))
        try:
            return _MADE[key]
        except KeyError:
            pass
        with _LOCKS.setdefault(key, threading.Lock()):  # one make per worker, even if its threads race
            if key not in _MADE:
                _MADE[key] = self._make()
                if multiprocessing.parent_process() is not None:
                    # A worker process: nobody can reach it when the run ends, so close at its exit.
                    multiprocessing.util.Finalize(None, _close_one, args=(key,), exitpriority=10)
            return _MADE[key]

    def _make(self) -> Any:
        try:
            value = self.factory()
        except Exception as exc:
            exc.add_note(
                f"conveyor: raised by the factory of side input {self.param!r} "
                f"(per_worker({_name(self.factory)})) of task {self.task_name!r}, which makes its value "
                f"once per worker (once per run inline)"
            )
            raise
        if inspect.isawaitable(value):
            _discard(value)
            raise TypeError(
                f"task {self.task_name!r}: the factory of side input {self.param!r} "
                f"(per_worker({_name(self.factory)})) returned an awaitable; it runs in the worker, "
                f"outside the event loop, so it must return the value itself"
            )
        if self.annotation is not Any:
            from conveyor.typecheck import value_problem

            problem = value_problem(value, self.annotation)
            if problem is not None:
                _close_sync(value)
                raise TypeError(
                    f"task {self.task_name!r}: the factory of side input {self.param!r} "
                    f"(per_worker({_name(self.factory)})) made {type(value).__name__}, which is not "
                    f"what the parameter takes: {problem}"
                )
        return value

    def __repr__(self) -> str:
        return f"<per_worker({_name(self.factory)}) for side input {self.param!r} of task {self.task_name!r}>"


def _rebuild(
    factory: Callable[[], Any], token: str, param: str, task_name: str, per_thread: bool, annotation: Any,
) -> PerWorker:
    return PerWorker(factory, token, param, task_name, per_thread=per_thread, annotation=annotation)


def _where(per_thread: bool) -> tuple[Any, ...]:
    if per_thread:
        return ("thread", os.getpid(), threading.get_ident())
    worker = _dask_worker()
    if worker is not None:
        return ("dask", id(worker))  # an in-process cluster runs several workers in one process
    return ("process", os.getpid())


def _dask_worker() -> Any:
    if "distributed" not in sys.modules:  # not on a Dask worker: never import it here
        return None
    from distributed import get_worker

    try:
        return get_worker()
    except ValueError:  # not in a worker's task
        return None


def made_count(token: str) -> int:
    """How many values this process holds for ``token`` (for tests and Dask's close report)."""
    return sum(1 for key in list(_MADE) if key[0] == token)


async def close_made(token: str, *, worker: Any = None) -> int:
    """Close the values of ``token`` made in this process (only ``worker``'s, for a
    Dask worker); returns how many. A failing close is logged, the others still close."""
    closed = 0
    for key in [key for key in list(_MADE) if key[0] == token]:
        if worker is not None and key[1] != ("dask", id(worker)):
            continue
        value = _MADE.pop(key, None)
        _LOCKS.pop(key, None)
        closed += 1
        try:
            aclose = getattr(value, "aclose", None)
            if callable(aclose):
                result = aclose()
                if inspect.isawaitable(result):
                    await result
            else:
                _close_sync(value)
        except Exception as exc:
            from conveyor.runtime.outcomes import log

            log.warning("closing the per-worker value %r (side input token %s) raised %r", value, token, exc)
    return closed


def _close_one(key: tuple[str, tuple[Any, ...]]) -> None:
    """At a worker process's exit: close one value (aclose in a fresh event loop)."""
    value = _MADE.pop(key, None)
    if value is None:
        return
    aclose = getattr(value, "aclose", None)
    if callable(aclose):
        import asyncio

        async def run() -> None:
            result = aclose()
            if inspect.isawaitable(result):
                await result

        asyncio.run(run())
    else:
        _close_sync(value)


def _close_sync(value: Any) -> None:
    close = getattr(value, "close", None)
    if callable(close):
        close()


def _discard(awaitable: Any) -> None:
    close = getattr(awaitable, "close", None)
    if inspect.iscoroutine(awaitable) and callable(close):
        close()


def _name(factory: Any) -> str:
    return str(getattr(factory, "__qualname__", None) or type(factory).__name__)
