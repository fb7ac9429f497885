"""Where a task's calls run: the ``executor=`` option and the backend protocol.

``executor=`` takes ``"inline"`` (the default: on the event-loop thread),
``"thread"``, ``"process"``, any ``concurrent.futures.Executor`` (its owner, the
user, shuts it down) or a ``Backend`` (Dask, later Ray). The model only stores and
shows the choice; the runtime (runtime/offload.py) opens one ``Session`` per task
per run and routes every call of that task through it.

The protocol a backend implements (no change to the scheduler is needed):

- ``Backend.open(spec)`` (async), once per task per run, before the task's first
  item: returns a ``Session``. ``spec`` names the task, its function, its
  ``concurrency_limit`` (the worker count for pools conveyor makes) and where it
  was defined. Checks that must fail before any item (pickling the function) go here.
- ``Session.share(param, value)`` (async), once per side input per run, after the
  side input is resolved: returns what each call passes in its place (the value
  itself for threads; a scattered future for Dask). A value that cannot be sent
  fails the run here, naming the parameter.
- ``Session.submit(fn, *args, **kwargs)``: start one call of ``fn`` and return an
  awaitable of its result. ``fn`` is ``conveyor.executors.run_call`` bound to the
  user's function: a module-level function, so it pickles by reference. Awaiting
  it on the event loop must never block the loop. Cancelling the awaiting task must
  cancel the call where the engine allows (queued calls at least). A retry is a new
  ``submit`` (so a backend with result caches must use a fresh key per submit).
  Calls are bounded by conveyor (``concurrency_limit``, ``max_in_flight``), not by
  the backend.
- ``Session.aclose()`` (async), once, when the run winds down, after every call
  of the run has ended or been cancelled: waits for calls that cannot be stopped
  (running threads) and releases what the session made (pools it created, scattered
  data). It never shuts down an executor or client the user passed in.

A value whose ``InWorker.resolve()`` must run in the worker (a per-worker side
input) can be passed as an argument: ``run_call`` replaces it there.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, Final, Literal, Union

__all__ = [
    "Backend", "Session", "SessionSpec", "InWorker", "ExecutorSpec", "ExecutorName",
    "EXECUTOR_NAMES", "check_executor", "executor_label", "is_inline", "one_per_call", "run_call",
]

ExecutorName = Literal["inline", "thread", "process"]
#: What ``executor=`` accepts.
ExecutorSpec = Union[ExecutorName, Executor, "Backend"]
EXECUTOR_NAMES: Final = ("inline", "thread", "process")


@dataclass(frozen=True, slots=True)
class SessionSpec:
    """What a backend is told about the task it opens a session for."""

    task_name: str
    fn: Callable[..., Any]  # the user's function (bound to its instance for a method)
    concurrency_limit: int | None  # the task's limit: the pool size, when the backend makes a pool
    defined_at: str  # "file:line", for error messages
    timeout: float | None = None  # the task's limit per call, in seconds (a call's wait counts)


class Session(abc.ABC):
    """One task's use of a backend during one run."""

    async def share(self, param: str, value: Any) -> Any:
        """What calls pass for side input ``param`` (once per run). Default: the value."""
        return value

    @abc.abstractmethod
    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Awaitable[Any]:
        """Start ``fn(*args, **kwargs)`` in the backend; an awaitable of its result."""

    async def aclose(self) -> None:  # noqa: B027  (optional: nothing to release by default)
        """The run is over: wait for what cannot be stopped, release what the session made."""


class Backend(abc.ABC):
    """An engine calls can run in (a Dask cluster, ...). One object may serve many runs."""

    #: Shown in reprs, the outline and diagrams: ``executor=<label>``.
    label: str = "backend"

    @abc.abstractmethod
    async def open(self, spec: SessionSpec) -> Session:
        """A session for one task in one run (before the task's first item)."""


class InWorker(abc.ABC):
    """An argument that becomes its ``resolve()`` inside the worker that runs the call."""

    @abc.abstractmethod
    def resolve(self) -> Any: ...


def run_call(fn: Callable[..., Any], iterate: bool, /, *args: Any, **kwargs: Any) -> Any:
    """Runs in the worker: one call of the user's function. A sync generator runs
    whole here (``iterate``) and its values travel back as one list."""
    if args and any(isinstance(a, InWorker) for a in args):
        args = tuple(a.resolve() if isinstance(a, InWorker) else a for a in args)
    for key, value in kwargs.items():
        if isinstance(value, InWorker):
            kwargs[key] = value.resolve()
    result = fn(*args, **kwargs)
    return list(result) if iterate else result


def one_per_call(error: BaseException) -> BaseException:
    """A copy of ``error`` for one of several calls that failed with it together (a batch,
    a broken pool, a lost scheduler), so that the notes each call adds stay its own: the
    same type and arguments, the original as its cause; the original itself when its
    type cannot be rebuilt from its arguments (its type matters more than its notes)."""
    try:
        clone = type(error)(*error.args)
    except Exception:
        return error
    clone.__cause__ = error
    return clone


def is_inline(spec: object) -> bool:
    return spec == "inline" if isinstance(spec, str) else False


def executor_label(spec: object) -> str:
    """How a task's executor is shown (``thread``, ``ThreadPoolExecutor``, a backend's label)."""
    if isinstance(spec, str):
        return spec
    if isinstance(spec, Backend):
        return spec.label
    return type(spec).__name__


def check_executor(owner: str, value: object, *, is_async: bool) -> ExecutorSpec:
    """The ``executor=`` value, checked at decoration: a clear error naming the task."""
    if isinstance(value, str):
        if value not in EXECUTOR_NAMES:
            from difflib import get_close_matches

            close = get_close_matches(value, EXECUTOR_NAMES, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(
                f"{owner}: executor={value!r} is not one of 'inline', 'thread', 'process'{hint} "
                f"(or pass a concurrent.futures.Executor, or a backend such as DaskExecutor)"
            )
    elif isinstance(value, type) and issubclass(value, (Executor, Backend)):
        raise TypeError(
            f"{owner}: executor must be an instance, got the class {value.__name__}; "
            f"write executor={value.__name__}(...)"
        )
    elif not isinstance(value, (Executor, Backend)):
        raise TypeError(
            f"{owner}: executor must be 'inline', 'thread', 'process', a concurrent.futures.Executor "
            f"or a conveyor backend, got {repr(value)[:80]}"
        )
    if is_async and not is_inline(value):
        raise TypeError(
            f"{owner}: an async function already runs on the event loop without blocking it; "
            f"executor={executor_label(value)!r} is for sync functions (remove the option, or "
            f"make the function a plain def)"
        )
    return value  # type: ignore[return-value]  # narrowed above
