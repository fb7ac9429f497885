"""``@single_task`` and ``@batch_task``: turn a function into a task, bare or with options.

Every option is validated here, at decoration time, so a typo fails where it is
written and not in the middle of a run.

The overloads give the task's static type by the stage rules of
``conveyor.stage_types``: ``SingleTask[In, Out, P]`` with ``Out`` the awaited,
yielded or returned type without ``None`` (``NoOutput`` for a sink), a batch task's
``list[R]`` return fanning out as ``R``, and ``P`` the side-input parameters. Their
order matters (the first match wins): functions returning Any (or a TypeVar) first,
so that a checker does not mistake them for sinks; then sinks before the shapes
whose ``None`` is dropped; coroutines and async generators before sync functions.
"""

from __future__ import annotations

import inspect
import sys
from difflib import get_close_matches
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any, Concatenate, Final, Literal, ParamSpec, Protocol, TypeVar, overload

from conveyor.executors import ExecutorSpec, check_executor, is_inline
from conveyor.invoke import CallShape, Invoker, classify
from conveyor.options import check_count, check_seconds, shown
from conveyor.policy import ErrorHandler, ErrorPolicy, OnError, RetryPolicy, short_repr, validate_on_error
from conveyor.rate_limit import RateLimiter, check_rate_limit
from conveyor.signature import TaskSignature, analyse
from conveyor.stage_types import batch_element_type, stage_types
from conveyor.task import BatchTask, NoOutput, SingleTask, Task
from conveyor.timeouts import check_timeout
from conveyor.typerules import type_repr

if TYPE_CHECKING:
    from typing import Never

__all__ = ["single_task", "batch_task"]

_I = TypeVar("_I")
_O = TypeVar("_O")
_S = TypeVar("_S")  # ``self`` of a batch task declared as a method
_P = ParamSpec("_P")


class _AnyResult:
    """Typing only: no function returns it, so only functions returning Any, NoReturn
    or a bare TypeVar match the overloads that use it (they give ``Any`` items)."""


class _SingleTaskDecorator(Protocol):
    """What ``@single_task(...)`` with options returns: the decorator itself."""

    @overload
    def __call__(self, fn: Callable[Concatenate[Any, _P], _AnyResult], /) -> SingleTask[Any, Any, _P]: ...
    @overload
    def __call__(self, fn: Callable[Concatenate[Any, _P], Awaitable[_AnyResult]], /) -> SingleTask[Any, Any, _P]: ...
    @overload
    def __call__(self, fn: Callable[Concatenate[Any, _P], AsyncIterator[_AnyResult]], /) -> SingleTask[Any, Any, _P]: ...
    @overload
    def __call__(self, fn: Callable[Concatenate[Any, _P], Iterator[_AnyResult]], /) -> SingleTask[Any, Any, _P]: ...
    @overload
    def __call__(self, fn: Callable[Concatenate[_I, _P], Awaitable[None]], /) -> SingleTask[_I, NoOutput, _P]: ...
    @overload
    def __call__(self, fn: Callable[Concatenate[_I, _P], AsyncIterator[_O | None]], /) -> SingleTask[_I, _O, _P]: ...
    @overload
    def __call__(self, fn: Callable[Concatenate[_I, _P], Awaitable[_O | None]], /) -> SingleTask[_I, _O, _P]: ...
    @overload
    def __call__(self, fn: Callable[Concatenate[_I, _P], Iterator[_O | None]], /) -> SingleTask[_I, _O, _P]: ...
    @overload
    def __call__(self, fn: Callable[Concatenate[_I, _P], None], /) -> SingleTask[_I, NoOutput, _P]: ...
    @overload
    def __call__(self, fn: Callable[Concatenate[_I, _P], _O | None], /) -> SingleTask[_I, _O, _P]: ...
    @overload
    def __call__(self, fn: Callable[_P, AsyncIterator[_O | None]], /) -> SingleTask[Never, _O, _P]: ...
    @overload
    def __call__(self, fn: Callable[_P, Awaitable[_O | None]], /) -> SingleTask[Never, _O, _P]: ...
    @overload
    def __call__(self, fn: Callable[_P, Iterator[_O | None]], /) -> SingleTask[Never, _O, _P]: ...
    @overload
    def __call__(self, fn: Callable[_P, _O | None], /) -> SingleTask[Never, _O, _P]: ...


class _BatchTaskDecorator(Protocol):
    """What ``@batch_task(...)`` with options returns: the decorator itself."""

    @overload
    def __call__(self, fn: Callable[Concatenate[list[Any], _P], _AnyResult], /) -> BatchTask[Any, Any, _P]: ...
    @overload
    def __call__(self, fn: Callable[Concatenate[list[Any], _P], Awaitable[_AnyResult]], /) -> BatchTask[Any, Any, _P]: ...
    @overload
    def __call__(self, fn: Callable[Concatenate[list[Any], _P], list[_AnyResult]], /) -> BatchTask[Any, Any, _P]: ...
    @overload
    def __call__(self, fn: Callable[Concatenate[list[Any], _P], Awaitable[list[_AnyResult]]], /) -> BatchTask[Any, Any, _P]: ...
    @overload
    def __call__(self, fn: Callable[Concatenate[list[_I], _P], Awaitable[None]], /) -> BatchTask[_I, NoOutput, _P]: ...
    @overload
    def __call__(self, fn: Callable[Concatenate[list[_I], _P], AsyncIterator[_O | None]], /) -> BatchTask[_I, _O, _P]: ...
    @overload
    def __call__(self, fn: Callable[Concatenate[list[_I], _P], Awaitable[list[_O] | None]], /) -> BatchTask[_I, _O, _P]: ...  # type: ignore[overload-overlap]
    @overload
    def __call__(self, fn: Callable[Concatenate[list[_I], _P], Awaitable[_O | None]], /) -> BatchTask[_I, _O, _P]: ...  # type: ignore[overload-overlap]
    @overload
    def __call__(self, fn: Callable[Concatenate[list[_I], _P], Iterator[_O | None]], /) -> BatchTask[_I, _O, _P]: ...
    @overload
    def __call__(self, fn: Callable[Concatenate[list[_I], _P], None], /) -> BatchTask[_I, NoOutput, _P]: ...
    @overload
    def __call__(self, fn: Callable[Concatenate[list[_I], _P], list[_O] | None], /) -> BatchTask[_I, _O, _P]: ...  # type: ignore[overload-overlap]
    @overload
    def __call__(self, fn: Callable[Concatenate[list[_I], _P], _O | None], /) -> BatchTask[_I, _O, _P]: ...  # type: ignore[overload-overlap]
    # Declared as a method: ``self`` comes first and is bound when read from an instance.
    @overload
    def __call__(self, fn: Callable[Concatenate[_S, list[Any], _P], _AnyResult], /) -> BatchTask[_S, Any, Concatenate[list[Any], _P]]: ...
    @overload
    def __call__(
        self, fn: Callable[Concatenate[_S, list[Any], _P], Awaitable[_AnyResult]], /
    ) -> BatchTask[_S, Any, Concatenate[list[Any], _P]]: ...
    @overload
    def __call__(
        self, fn: Callable[Concatenate[_S, list[_I], _P], Awaitable[None]], /
    ) -> BatchTask[_S, NoOutput, Concatenate[list[_I], _P]]: ...
    @overload
    def __call__(
        self, fn: Callable[Concatenate[_S, list[_I], _P], AsyncIterator[_O | None]], /
    ) -> BatchTask[_S, _O, Concatenate[list[_I], _P]]: ...
    @overload
    def __call__(
        self, fn: Callable[Concatenate[_S, list[_I], _P], Awaitable[list[_O] | None]], /
    ) -> BatchTask[_S, _O, Concatenate[list[_I], _P]]: ...
    @overload
    def __call__(
        self, fn: Callable[Concatenate[_S, list[_I], _P], Awaitable[_O | None]], /
    ) -> BatchTask[_S, _O, Concatenate[list[_I], _P]]: ...
    @overload
    def __call__(
        self, fn: Callable[Concatenate[_S, list[_I], _P], Iterator[_O | None]], /
    ) -> BatchTask[_S, _O, Concatenate[list[_I], _P]]: ...
    @overload
    def __call__(
        self, fn: Callable[Concatenate[_S, list[_I], _P], None], /
    ) -> BatchTask[_S, NoOutput, Concatenate[list[_I], _P]]: ...
    @overload
    def __call__(
        self, fn: Callable[Concatenate[_S, list[_I], _P], list[_O] | None], /
    ) -> BatchTask[_S, _O, Concatenate[list[_I], _P]]: ...
    @overload
    def __call__(
        self, fn: Callable[Concatenate[_S, list[_I], _P], _O | None], /
    ) -> BatchTask[_S, _O, Concatenate[list[_I], _P]]: ...


# The bare decorators repeat _SingleTaskDecorator's / _BatchTaskDecorator's overloads
# (a Protocol's overloads cannot be reused for a function); keep them in step.


@overload
def single_task(fn: Callable[Concatenate[Any, _P], _AnyResult], /) -> SingleTask[Any, Any, _P]: ...
@overload
def single_task(fn: Callable[Concatenate[Any, _P], Awaitable[_AnyResult]], /) -> SingleTask[Any, Any, _P]: ...
@overload
def single_task(fn: Callable[Concatenate[Any, _P], AsyncIterator[_AnyResult]], /) -> SingleTask[Any, Any, _P]: ...
@overload
def single_task(fn: Callable[Concatenate[Any, _P], Iterator[_AnyResult]], /) -> SingleTask[Any, Any, _P]: ...
@overload
def single_task(fn: Callable[Concatenate[_I, _P], Awaitable[None]], /) -> SingleTask[_I, NoOutput, _P]: ...
@overload
def single_task(fn: Callable[Concatenate[_I, _P], AsyncIterator[_O | None]], /) -> SingleTask[_I, _O, _P]: ...
@overload
def single_task(fn: Callable[Concatenate[_I, _P], Awaitable[_O | None]], /) -> SingleTask[_I, _O, _P]: ...
@overload
def single_task(fn: Callable[Concatenate[_I, _P], Iterator[_O | None]], /) -> SingleTask[_I, _O, _P]: ...
@overload
def single_task(fn: Callable[Concatenate[_I, _P], None], /) -> SingleTask[_I, NoOutput, _P]: ...
@overload
def single_task(fn: Callable[Concatenate[_I, _P], _O | None], /) -> SingleTask[_I, _O, _P]: ...
@overload
def single_task(fn: Callable[_P, AsyncIterator[_O | None]], /) -> SingleTask[Never, _O, _P]: ...
@overload
def single_task(fn: Callable[_P, Awaitable[_O | None]], /) -> SingleTask[Never, _O, _P]: ...
@overload
def single_task(fn: Callable[_P, Iterator[_O | None]], /) -> SingleTask[Never, _O, _P]: ...
@overload
def single_task(fn: Callable[_P, _O | None], /) -> SingleTask[Never, _O, _P]: ...
@overload
def single_task(
    *,
    on_error: Literal["fail", "skip_item"] = "fail",
    retry_attempts: int = 1,
    retry_delay: float = 1.0,
    retry_exponential_backoff: bool = True,
    retry_max_delay: float = 60.0,
    error_handler: ErrorHandler | None = None,
    task_name: str | None = None,
    concurrency_limit: int | None = None,
    timeout: float | None = None,
    executor: ExecutorSpec = "inline",
    rate_limit: int | tuple[int, float] | RateLimiter | None = None,
) -> _SingleTaskDecorator: ...


def single_task(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    on_error: OnError = "fail",
    retry_attempts: int = 1,
    retry_delay: float = 1.0,
    retry_exponential_backoff: bool = True,
    retry_max_delay: float = 60.0,
    error_handler: ErrorHandler | None = None,
    task_name: str | None = None,
    concurrency_limit: int | None = None,
    timeout: float | None = None,
    executor: ExecutorSpec = "inline",
    rate_limit: int | tuple[int, float] | RateLimiter | None = None,
    **unknown: Any,  # not in the overloads: type checkers flag these themselves
) -> Any:
    """Make a task that calls ``fn`` once per item (many items concurrently).

    Options: ``on_error`` ("fail" or "skip_item"), ``retry_attempts`` (total calls),
    ``retry_delay`` / ``retry_exponential_backoff`` / ``retry_max_delay`` (the wait
    between attempts), ``error_handler``, ``task_name``, ``concurrency_limit``,
    ``timeout`` (seconds a call may run before it is cancelled and fails with
    ``TimeoutError``; async functions, or sync ones with an executor),
    ``rate_limit`` (calls per second, a ``(calls, per_seconds)`` pair, both per run,
    or a shared ``RateLimiter``).
    """

    _check_unknown("single_task", unknown)
    caller = _caller_namespace()

    def decorate(function: Callable[..., Any]) -> SingleTask[Any, Any]:
        function, static = _function_of(_callable(function, "single_task"))
        name = _task_name(function, task_name)
        invoker = Invoker.of(function)
        signature = analyse(function, caller)
        return SingleTask(
            invoker=invoker,
            name=name,
            policy=_policy("single", name, on_error, retry_attempts, retry_delay,
                           retry_exponential_backoff, retry_max_delay, error_handler),
            concurrency_limit=_concurrency(name, concurrency_limit),
            executor=_executor(name, executor, invoker),
            signature=signature,
            declared_types=stage_types(signature, batch=False, shape=invoker.shape),
            defined_at=_defined_at(function),
            static=static,
            timeout=check_timeout(f"task {name!r}", timeout, invoker.shape, signature.is_source,
                                  offloaded=not is_inline(executor)),  # executor: checked just above
            rate_limit=check_rate_limit(f"task {name!r}", rate_limit, signature.is_source),
        )

    return decorate if fn is None else decorate(fn)


@overload
def batch_task(fn: Callable[Concatenate[list[Any], _P], _AnyResult], /) -> BatchTask[Any, Any, _P]: ...
@overload
def batch_task(fn: Callable[Concatenate[list[Any], _P], Awaitable[_AnyResult]], /) -> BatchTask[Any, Any, _P]: ...
@overload
def batch_task(fn: Callable[Concatenate[list[Any], _P], list[_AnyResult]], /) -> BatchTask[Any, Any, _P]: ...
@overload
def batch_task(fn: Callable[Concatenate[list[Any], _P], Awaitable[list[_AnyResult]]], /) -> BatchTask[Any, Any, _P]: ...
@overload
def batch_task(fn: Callable[Concatenate[list[_I], _P], Awaitable[None]], /) -> BatchTask[_I, NoOutput, _P]: ...
@overload
def batch_task(fn: Callable[Concatenate[list[_I], _P], AsyncIterator[_O | None]], /) -> BatchTask[_I, _O, _P]: ...
@overload
def batch_task(fn: Callable[Concatenate[list[_I], _P], Awaitable[list[_O] | None]], /) -> BatchTask[_I, _O, _P]: ...  # type: ignore[overload-overlap]
@overload
def batch_task(fn: Callable[Concatenate[list[_I], _P], Awaitable[_O | None]], /) -> BatchTask[_I, _O, _P]: ...  # type: ignore[overload-overlap]
@overload
def batch_task(fn: Callable[Concatenate[list[_I], _P], Iterator[_O | None]], /) -> BatchTask[_I, _O, _P]: ...
@overload
def batch_task(fn: Callable[Concatenate[list[_I], _P], None], /) -> BatchTask[_I, NoOutput, _P]: ...
@overload
def batch_task(fn: Callable[Concatenate[list[_I], _P], list[_O] | None], /) -> BatchTask[_I, _O, _P]: ...  # type: ignore[overload-overlap]
@overload
def batch_task(fn: Callable[Concatenate[list[_I], _P], _O | None], /) -> BatchTask[_I, _O, _P]: ...  # type: ignore[overload-overlap]
@overload
def batch_task(fn: Callable[Concatenate[_S, list[Any], _P], _AnyResult], /) -> BatchTask[_S, Any, Concatenate[list[Any], _P]]: ...
@overload
def batch_task(
    fn: Callable[Concatenate[_S, list[Any], _P], Awaitable[_AnyResult]], /
) -> BatchTask[_S, Any, Concatenate[list[Any], _P]]: ...
@overload
def batch_task(fn: Callable[Concatenate[_S, list[_I], _P], Awaitable[None]], /) -> BatchTask[_S, NoOutput, Concatenate[list[_I], _P]]: ...
@overload
def batch_task(
    fn: Callable[Concatenate[_S, list[_I], _P], AsyncIterator[_O | None]], /
) -> BatchTask[_S, _O, Concatenate[list[_I], _P]]: ...
@overload
def batch_task(
    fn: Callable[Concatenate[_S, list[_I], _P], Awaitable[list[_O] | None]], /
) -> BatchTask[_S, _O, Concatenate[list[_I], _P]]: ...
@overload
def batch_task(
    fn: Callable[Concatenate[_S, list[_I], _P], Awaitable[_O | None]], /
) -> BatchTask[_S, _O, Concatenate[list[_I], _P]]: ...
@overload
def batch_task(
    fn: Callable[Concatenate[_S, list[_I], _P], Iterator[_O | None]], /
) -> BatchTask[_S, _O, Concatenate[list[_I], _P]]: ...
@overload
def batch_task(fn: Callable[Concatenate[_S, list[_I], _P], None], /) -> BatchTask[_S, NoOutput, Concatenate[list[_I], _P]]: ...
@overload
def batch_task(
    fn: Callable[Concatenate[_S, list[_I], _P], list[_O] | None], /
) -> BatchTask[_S, _O, Concatenate[list[_I], _P]]: ...
@overload
def batch_task(
    fn: Callable[Concatenate[_S, list[_I], _P], _O | None], /
) -> BatchTask[_S, _O, Concatenate[list[_I], _P]]: ...
@overload
def batch_task(
    *,
    min_size: int = 1,
    max_size: int | None = None,
    max_wait: float | None = None,
    on_error: Literal["fail", "skip_batch"] = "fail",
    retry_attempts: int = 1,
    retry_delay: float = 1.0,
    retry_exponential_backoff: bool = True,
    retry_max_delay: float = 60.0,
    error_handler: ErrorHandler | None = None,
    task_name: str | None = None,
    concurrency_limit: int | None = None,
    timeout: float | None = None,
    executor: ExecutorSpec = "inline",
    rate_limit: int | tuple[int, float] | RateLimiter | None = None,
) -> _BatchTaskDecorator: ...


def batch_task(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    min_size: int = 1,
    max_size: int | None = None,
    max_wait: float | None = None,
    on_error: OnError = "fail",
    retry_attempts: int = 1,
    retry_delay: float = 1.0,
    retry_exponential_backoff: bool = True,
    retry_max_delay: float = 60.0,
    error_handler: ErrorHandler | None = None,
    task_name: str | None = None,
    concurrency_limit: int | None = None,
    timeout: float | None = None,
    executor: ExecutorSpec = "inline",
    rate_limit: int | tuple[int, float] | RateLimiter | None = None,
    **unknown: Any,  # as for single_task
) -> Any:
    """Make a task that calls ``fn`` with lists of items.

    Items are grouped up to ``max_size`` (``None``: one batch of everything). With
    ``max_wait`` (seconds), a batch that has at least ``min_size`` items is sent
    ``max_wait`` after its first item arrived even if it is not full. At the end of
    the input the remainder is always processed, even when smaller than ``min_size``.
    Other options as for ``single_task`` (``on_error`` is "fail" or "skip_batch").
    """

    _check_unknown("batch_task", unknown)
    caller = _caller_namespace()

    def decorate(function: Callable[..., Any]) -> BatchTask[Any, Any]:
        function, static = _function_of(_callable(function, "batch_task"))
        name = _task_name(function, task_name)
        invoker = Invoker.of(function)
        signature = analyse(function, caller)
        _check_batch_parameter(name, signature)
        _check_sizes(name, min_size, max_size, max_wait)
        return BatchTask(
            invoker=invoker,
            name=name,
            policy=_policy("batch", name, on_error, retry_attempts, retry_delay,
                           retry_exponential_backoff, retry_max_delay, error_handler),
            concurrency_limit=_concurrency(name, concurrency_limit),
            executor=_executor(name, executor, invoker),
            signature=signature,
            declared_types=stage_types(signature, batch=True, shape=invoker.shape),
            defined_at=_defined_at(function),
            static=static,
            timeout=check_timeout(f"batch task {name!r}", timeout, invoker.shape, signature.is_source,
                                  offloaded=not is_inline(executor)),  # executor: checked just above
            rate_limit=check_rate_limit(f"batch task {name!r}", rate_limit, signature.is_source),
            min_size=min_size,
            max_size=max_size,
            max_wait=None if max_wait is None else float(max_wait),
        )

    return decorate if fn is None else decorate(fn)


_SHARED_OPTIONS: Final = (
    "on_error", "retry_attempts", "retry_delay", "retry_exponential_backoff", "retry_max_delay",
    "error_handler", "task_name", "concurrency_limit", "timeout", "executor", "rate_limit",
)
_OPTIONS: Final = {"single_task": _SHARED_OPTIONS, "batch_task": ("min_size", "max_size", "max_wait", *_SHARED_OPTIONS)}


def _check_unknown(decorator: str, unknown: dict[str, Any]) -> None:
    """An option the decorator does not have: say which one, and what was meant."""
    if not unknown:
        return
    name = next(iter(unknown))
    message = f"@{decorator} has no option {name!r}"
    if decorator == "single_task" and name in _OPTIONS["batch_task"]:
        message += "; it is a @batch_task option (a single task takes one item at a time)"
    elif close := get_close_matches(name, _OPTIONS[decorator], n=1):
        message += f"; did you mean {close[0]!r}?"
    raise TypeError(f"{message} (its options: {', '.join(_OPTIONS[decorator])})")


def _caller_namespace() -> dict[str, Any]:
    """Names visible where the decorator is used, so annotations naming local classes
    resolve (``get_type_hints`` alone sees only the module's globals)."""
    frame = sys._getframe(2)
    try:
        if frame.f_code.co_flags & inspect.CO_NEWLOCALS or frame.f_locals is not frame.f_globals:
            return dict(frame.f_locals)
        return {}
    finally:
        del frame


def _check_batch_parameter(name: str, signature: TaskSignature) -> None:
    if signature.item is None:
        raise TypeError(f"batch task {name!r} needs a parameter that receives the batch (a list of items)")
    annotation = signature.item.annotation
    if batch_element_type(annotation) is None:
        raise TypeError(
            f"batch task {name!r}: parameter {signature.item.name!r} receives a list of items, "
            f"so annotate it as list[T] or Sequence[T], not {type_repr(annotation)}"
        )


# What each decorator's "pass options by keyword" hint shows: an option it really has.
_EXAMPLE_OPTION: Final = {"single_task": "retry_attempts=3", "batch_task": "max_size=10"}


def _callable(fn: object, decorator: str) -> Callable[..., Any]:
    if isinstance(fn, Task):
        raise TypeError(
            f"{fn.name!r} is already a task (made with @{fn.kind}_task); decorate the function "
            f"only once (remove the extra @{decorator})"
        )
    if isinstance(fn, str):
        raise TypeError(
            f"@{decorator} decorates a function; got the string {fn!r}. To name the task, "
            f"pass the name by keyword: @{decorator}(task_name={fn!r})"
        )
    if not callable(fn) and not isinstance(fn, (staticmethod, classmethod)):
        raise TypeError(
            f"@{decorator} decorates a function; got {short_repr(fn)}. "
            f"Pass options by keyword: @{decorator}({_EXAMPLE_OPTION[decorator]})"
        )
    return fn  # type: ignore[return-value]  # a staticmethod / classmethod is unwrapped next


def _function_of(fn: Callable[..., Any]) -> tuple[Callable[..., Any], bool]:
    """The function to call, and whether it is a static method (never bound to an instance)."""
    if isinstance(fn, staticmethod):
        return fn.__func__, True
    if isinstance(fn, classmethod):
        raise TypeError(
            f"{getattr(fn.__func__, '__name__', 'this function')!r}: a task cannot be a classmethod; "
            f"use @staticmethod (or a plain method) under the task decorator"
        )
    return fn, False


def _task_name(fn: Callable[..., Any], explicit: object) -> str:
    function_name = str(getattr(fn, "__name__", type(fn).__name__))
    if explicit is None:
        return function_name
    owner = f"task {function_name!r}"  # the name it would have had
    if not isinstance(explicit, str):
        raise TypeError(f"{owner}: task_name must be a str or None, got {shown(explicit)}")
    if not explicit:
        raise ValueError(f"{owner}: task_name must not be empty (leave it out to use the function's name)")
    return explicit


def _policy(
    kind: str,
    name: str,
    on_error: object,
    attempts: int,
    delay: float,
    backoff: bool,
    max_delay: float,
    handler: ErrorHandler | None,
) -> ErrorPolicy:
    owner = f"task {name!r}"
    _check_handler(owner, handler)
    on_error = validate_on_error(on_error, task_kind=kind, task_name=name)
    retry = RetryPolicy.for_task(owner, attempts, delay, backoff, max_delay)
    return ErrorPolicy(on_error, retry, handler)


def _check_handler(owner: str, handler: object) -> None:
    """An error handler that cannot work fails here, not after an item's last attempt."""
    if handler is None:
        return
    if isinstance(handler, type):
        raise TypeError(
            f"{owner}: error_handler must be an instance, got the class {handler.__name__}; "
            f"write error_handler={handler.__name__}()"
        )
    method = getattr(handler, "handle_error", None)
    if not callable(method):
        raise TypeError(
            f"{owner}: error_handler must have an async handle_error method (subclass ErrorHandler), "
            f"got {short_repr(handler)}"
        )
    # iscoroutinefunction too: it knows objects marked as such (an AsyncMock in a test)
    if classify(method) is not CallShape.AWAITABLE and not inspect.iscoroutinefunction(method):
        raise TypeError(
            f"{owner}: {type(handler).__name__}.handle_error must be a coroutine function: "
            f"write it as 'async def handle_error(self, error, item, task_name, attempt)'"
        )


def _executor(name: str, executor: object, invoker: Invoker) -> ExecutorSpec:
    is_async = invoker.shape in (CallShape.AWAITABLE, CallShape.ASYNC_ITERATOR)
    return check_executor(f"task {name!r}", executor, is_async=is_async)


def _concurrency(name: str, limit: object) -> int | None:
    return check_count(f"task {name!r}", "concurrency_limit", limit, minimum=1, optional=True)


def _check_sizes(name: str, min_size: object, max_size: object, max_wait: object) -> None:
    owner = f"batch task {name!r}"
    low = check_count(owner, "min_size", min_size, minimum=1)
    high = check_count(owner, "max_size", max_size, minimum=1, optional=True)
    if high is not None and high < low:
        raise ValueError(f"{owner}: max_size={high} is smaller than min_size={low}")
    check_seconds(owner, "max_wait", max_wait, positive=True, optional=True)


def _defined_at(fn: Callable[..., Any]) -> str:
    target = inspect.unwrap(fn)
    code = getattr(target, "__code__", None)
    if code is None:
        return "<unknown>"
    return f"{code.co_filename}:{code.co_firstlineno}"
