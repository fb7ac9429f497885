"""Normalising types before comparing them (aliases, Annotated, unions), type predicates, and substituting TypeVars."""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from conveyor.typerules.tables import _MAX_DEPTH, _NEVERS, _NONE_TYPE, _QUALIFIERS, _UNION, _UNION_ORIGINS


# --------------------------------------------------------------------------- normalising


def _norm(tp: object) -> object:
    """Canonical spelling: None -> NoneType, qualifiers stripped, a few aliases folded."""
    for _ in range(_MAX_DEPTH):
        if tp is None:
            return _NONE_TYPE
        if tp is typing.Tuple:  # bare alias: otherwise indistinguishable from tuple[()]
            return tuple
        if tp is typing.LiteralString:
            return str
        origin = typing.get_origin(tp)
        if any(origin is q for q in _QUALIFIERS):
            tp = typing.get_args(tp)[0]
            continue
        return tp
    return tp


def _resolve(tp: object, bindings: Mapping[TypeVar, object]) -> object:
    tp = _norm(tp)
    for _ in range(_MAX_DEPTH):  # bindings may chain T -> U -> int
        if not (isinstance(tp, TypeVar) and tp in bindings):
            break
        tp = _norm(bindings[tp])
    return tp


def _same(a: object, b: object) -> bool:
    if a is b:
        return True
    try:
        return bool(a == b)
    except Exception:
        return False


def _is_subclass(a: object, b: object) -> bool:
    if not (isinstance(a, type) and isinstance(b, type)):
        return False
    try:
        return issubclass(a, b)
    except TypeError:  # e.g. non-runtime protocols refuse issubclass
        return b in a.__mro__


def _origin_args(tp: object) -> tuple[type | None, tuple[Any, ...]]:
    """(runtime class, type arguments); class None when tp is not class-like."""
    origin = typing.get_origin(tp)
    if origin is None:
        return (tp, ()) if isinstance(tp, type) else (None, ())
    return (origin, typing.get_args(tp)) if isinstance(origin, type) else (None, ())


def _union_members(tp: object) -> tuple[Any, ...] | None:
    origin = typing.get_origin(tp)
    return typing.get_args(tp) if any(origin is u for u in _UNION_ORIGINS) else None


def _union_of(members: Sequence[object]) -> object:
    unique: list[object] = []
    for member in members:
        if not any(_same(member, seen) for seen in unique):
            unique.append(member)
    if not unique:
        return typing.Never
    if len(unique) == 1:
        return unique[0]
    try:
        return _UNION[tuple(unique)]
    except Exception:
        return Any


def _is_literal(tp: object) -> bool:
    return typing.get_origin(tp) is typing.Literal


def _is_newtype(tp: object) -> bool:
    return isinstance(tp, typing.NewType)


def _is_never(tp: object) -> bool:
    return any(tp is n for n in _NEVERS)


def _is_typeddict(tp: object) -> bool:
    return (
        _is_subclass(tp, dict)
        and hasattr(tp, "__required_keys__")
        and hasattr(tp, "__total__")
    )


def _is_namedtuple(tp: object) -> bool:
    return _is_subclass(tp, tuple) and hasattr(tp, "_fields")


def _is_protocol_class(tp: object) -> bool:
    return (
        isinstance(tp, type)
        and bool(getattr(tp, "_is_protocol", False))
        and tp is not typing.Protocol
        and tp is not typing.Generic
    )


def _hints(cls: type) -> dict[str, object]:
    """Field types of a TypedDict / NamedTuple; raw annotations if they do not resolve."""
    try:
        return dict(typing.get_type_hints(cls))
    except Exception:
        raw = getattr(cls, "__annotations__", {})
        return {str(k): _norm(v) for k, v in dict(raw).items()}


def substitute(tp: object, bindings: Mapping[TypeVar, object]) -> object:
    """Replace TypeVars by their bindings; unbound ones become Any (ParamSpecs `...`)."""
    if isinstance(tp, TypeVar):
        return bindings.get(tp, Any)
    if isinstance(tp, type):
        return tp  # a bare generic class already means "Any arguments"
    params = getattr(tp, "__parameters__", None)
    if not params or not isinstance(params, tuple):
        return tp
    values = tuple(
        bindings.get(p, Any) if isinstance(p, TypeVar) else ... for p in params
    )
    try:
        return typing.cast(Any, tp)[values if len(values) > 1 else values[0]]
    except Exception:
        if isinstance(tp, types.GenericAlias):
            args = tuple(substitute(a, bindings) for a in typing.get_args(tp))
            return types.GenericAlias(typing.get_origin(tp), args)
        return tp
