"""The parameter layout of a task function: its item parameter and its side inputs.

Rule: the first positional parameter receives the stream's items; every other
parameter is a side input. A function with no positional parameter is a *source*:
it produces the stream itself (its keyword-only parameters are side inputs).
Annotations are resolved with ``typing.get_type_hints``; one that cannot be
resolved counts as ``Any`` and never raises.
"""

from __future__ import annotations

import collections.abc
import inspect
import logging
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Param", "TaskSignature", "analyse", "wants_all_items"]

log = logging.getLogger("conveyor.signature")

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    annotation: Any  # resolved; Any when missing or unresolvable
    has_default: bool
    positional_only: bool
    positional: bool = True  # False for keyword-only parameters


@dataclass(frozen=True, slots=True)
class TaskSignature:
    item: Param | None  # None: the task is a source
    side: tuple[Param, ...]
    returns: Any  # resolved return annotation; Any when missing
    accepts_var_keywords: bool  # has **kwargs: any side-input name is accepted
    # Names seen where the task was defined, kept only while some annotation is still
    # unresolved (e.g. a class defined further down the module), to try again later.
    retry_namespace: Mapping[str, Any] | None = None

    @property
    def is_source(self) -> bool:
        return self.item is None

    def side_param(self, name: str) -> Param | None:
        for param in self.side:
            if param.name == name:
                return param
        return None

    @property
    def required_side(self) -> tuple[Param, ...]:
        return tuple(p for p in self.side if not p.has_default)

    def bound(self) -> TaskSignature:
        """The layout once the first parameter is bound (``self`` of a method)."""
        if self.item is None:
            raise TypeError("a function without positional parameters cannot be bound as a method")
        side = self.side
        if side and side[0].positional:
            return TaskSignature(side[0], side[1:], self.returns, self.accepts_var_keywords, self.retry_namespace)
        return TaskSignature(None, side, self.returns, self.accepts_var_keywords, self.retry_namespace)


def analyse(fn: Callable[..., Any], localns: Mapping[str, Any] | None = None) -> TaskSignature:
    """Read ``fn``'s parameters. Bound methods already exclude ``self``."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"cannot read the parameters of {fn!r}: {exc}") from exc
    hints, complete = _resolve_hints(fn, localns)
    item: Param | None = None
    side: list[Param] = []
    var_kw = False
    for p in sig.parameters.values():
        if p.kind is inspect.Parameter.VAR_KEYWORD:
            var_kw = True
            continue
        if p.kind is inspect.Parameter.VAR_POSITIONAL:
            continue  # extra positionals are never filled by the scheduler
        param = Param(
            name=p.name,
            annotation=hints.get(p.name, Any),
            has_default=p.default is not inspect.Parameter.empty,
            positional_only=p.kind is inspect.Parameter.POSITIONAL_ONLY,
            positional=p.kind in _POSITIONAL,
        )
        if item is None and not side and p.kind in _POSITIONAL:
            item = param
        else:
            side.append(param)
    retry = None if complete else dict(localns or {})
    return TaskSignature(item, tuple(side), hints.get("return", Any), var_kw, retry)


def _resolve_hints(fn: Callable[..., Any], localns: Mapping[str, Any] | None) -> tuple[dict[str, Any], bool]:
    """The resolved annotations, and whether every one of them resolved."""
    target = inspect.unwrap(getattr(fn, "__func__", fn))
    try:
        hints = typing.get_type_hints(target, localns=dict(localns or {}), include_extras=True)
        if not any(isinstance(tp, (str, typing.ForwardRef)) for tp in hints.values()):
            return hints, True
        return {name: _unless_unresolved(tp) for name, tp in hints.items()}, False
    except Exception as exc:
        # One bad annotation must not cost us the good ones: resolve them one by one.
        log.debug("could not resolve all annotations of %r (%s); resolving one by one", fn, exc)
    raw = getattr(target, "__annotations__", {}) or {}
    globalns = getattr(target, "__globals__", {})
    resolved: dict[str, Any] = {}
    complete = True
    for name, annotation in raw.items():
        if not isinstance(annotation, str):
            resolved[name] = annotation
            continue
        try:
            value = eval(annotation, globalns, dict(localns or {}))  # noqa: S307
        except Exception:
            log.debug("annotation %r of %r cannot be resolved (yet); treating it as Any", annotation, fn)
            value = Any
            complete = False
        if isinstance(value, (str, typing.ForwardRef)):
            complete = False
        resolved[name] = _unless_unresolved(value)
    return resolved, complete


def _unless_unresolved(tp: Any) -> Any:
    """A string or ForwardRef left after resolution names nothing we can see: Any."""
    return Any if isinstance(tp, (str, typing.ForwardRef)) else tp


_SEQUENCE_ORIGINS = {
    list,
    tuple,
    collections.abc.Sequence,
    collections.abc.MutableSequence,
    collections.abc.Iterable,
    collections.abc.Collection,
}


def wants_all_items(annotation: Any) -> bool:
    """Does a side-input parameter annotated so take a whole stream (a list of items)?"""
    annotation = _strip_annotated(annotation)
    if annotation in _SEQUENCE_ORIGINS:
        return True
    return typing.get_origin(annotation) in _SEQUENCE_ORIGINS


def _strip_annotated(annotation: Any) -> Any:
    if typing.get_origin(annotation) is typing.Annotated:
        return typing.get_args(annotation)[0]
    return annotation
