"""The one seam between a user's function and the scheduler.

A task's function is classified once, at decoration time, by the shape of what a
call gives back: a value, an awaitable, an iterator or an async iterator. The
scheduler only ever asks an ``Invoker`` for a prepared per-run callable and
its ``CallShape``; it never inspects user functions itself. Running a sync
function in a thread or a process later means a new Invoker whose ``shape`` is
``AWAITABLE``, with no change to the scheduler.
"""

from __future__ import annotations

import enum
import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MethodType
from typing import Any

__all__ = ["CallShape", "Invoker", "classify"]


class CallShape(enum.Enum):
    """What calling the prepared function returns."""

    VALUE = "value"  # a plain function: the result itself
    AWAITABLE = "awaitable"  # a coroutine function: await the result
    ITERATOR = "iterator"  # a generator function: every yielded value is an output
    ASYNC_ITERATOR = "async_iterator"  # an async generator function: likewise, async

    @property
    def fans_out(self) -> bool:
        return self in (CallShape.ITERATOR, CallShape.ASYNC_ITERATOR)


def classify(fn: Callable[..., Any]) -> CallShape:
    """Classify ``fn`` (functions, partials, bound methods, callable objects)."""
    target: Any = fn
    while isinstance(target, functools.partial):
        target = target.func
    if not inspect.isroutine(target) and not inspect.isclass(target):
        # A callable object: its __call__ decides the shape.
        target = getattr(type(target), "__call__", target)
    # The outer function decides (an async wrapper around a sync function is async);
    # only a plain sync wrapper defers to what it wraps (e.g. a sync decorator
    # passing an async function's coroutine through).
    shape = _shape_of(target)
    if shape is CallShape.VALUE:
        shape = _shape_of(inspect.unwrap(target))
    return shape


def _shape_of(target: Any) -> CallShape:
    if inspect.isasyncgenfunction(target):
        return CallShape.ASYNC_ITERATOR
    if inspect.iscoroutinefunction(target):
        return CallShape.AWAITABLE
    if inspect.isgeneratorfunction(target):
        return CallShape.ITERATOR
    return CallShape.VALUE


@dataclass(frozen=True, slots=True)
class Invoker:
    """A user function, its call shape, and how side inputs are passed to it."""

    fn: Callable[..., Any]
    shape: CallShape

    @classmethod
    def of(cls, fn: Callable[..., Any]) -> Invoker:
        return cls(fn, classify(fn))

    def bind_instance(self, instance: object) -> Invoker:
        """The same function bound to ``instance``, for tasks declared as methods."""
        return Invoker(MethodType(self.fn, instance), self.shape)

    def prepare(
        self, positional: Sequence[Any] = (), keywords: Mapping[str, Any] | None = None
    ) -> Callable[[Any], Any]:
        """A one-argument callable for the hot path, with side inputs already applied.

        ``positional`` are side inputs for positional-only parameters after the item.
        """
        fn = self.fn
        if positional:
            extra = tuple(positional)
            kw = dict(keywords or {})
            return lambda item: fn(item, *extra, **kw)
        if keywords:
            return functools.partial(_call_with_keywords, fn, dict(keywords))
        return fn

    def prepare_source(
        self, positional: Sequence[Any] = (), keywords: Mapping[str, Any] | None = None
    ) -> Callable[[], Any]:
        """A zero-argument callable for a source task (one with no item parameter)."""
        return functools.partial(self.fn, *positional, **(keywords or {}))


def _call_with_keywords(fn: Callable[..., Any], keywords: dict[str, Any], item: Any) -> Any:
    return fn(item, **keywords)
