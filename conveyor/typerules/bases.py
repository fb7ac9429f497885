"""Reading a class's generic bases: what a subclass of ``list[int]`` is a Sequence of, a tuple's shape, a mapping's key and value types."""

from __future__ import annotations

import collections
import collections.abc as cabc
import types
import typing
from typing import Any, TypeVar

from conveyor.typerules.normal import _hints, _is_namedtuple, _is_subclass, _origin_args, _union_of, substitute
from conveyor.typerules.tables import _ELEMENT_FIRST, _ELEMENT_SHAPED, _FIXED_ELEMENT, _MAPPING_SHAPED, _MAX_DEPTH


# --------------------------------------------------------------------------- generic bases


def _bases_of(tp: object) -> list[object]:
    """Direct bases of tp's class, with tp's type arguments substituted in."""
    po, pa = _origin_args(tp)
    if po is None:
        return []
    orig = po.__dict__.get("__orig_bases__")
    if orig is None:
        # Plain bases carry no argument mapping: only usable when tp is bare.
        return [] if pa else [b for b in po.__bases__ if b is not object]
    params = [p for p in getattr(po, "__parameters__", ()) if isinstance(p, TypeVar)]
    mapping: dict[TypeVar, object] = dict(zip(params, pa))
    skip = (None, typing.Generic, typing.Protocol, object)
    return [
        substitute(b, mapping)
        for b in orig
        if not any(_origin_args(b)[0] is s for s in skip)
    ]


def _element_type(tp: object) -> object | None:
    """What iterating a value of a well-known type yields, if derivable directly."""
    po, pa = _origin_args(tp)
    if po is None:
        return None
    if po in _FIXED_ELEMENT:
        return _FIXED_ELEMENT[po]
    if po is tuple or _is_namedtuple(po):
        return _union_of(_tuple_shape(tp)[0])
    if po in _ELEMENT_FIRST:
        return pa[0] if pa else Any
    key_value = _mapping_types(tp)
    if key_value is not None:
        return key_value[0]
    if po is cabc.ItemsView:
        key, value = pa if len(pa) == 2 else (Any, Any)
        return types.GenericAlias(tuple, (key, value))
    return None


def _mapping_types(tp: object) -> tuple[object, object] | None:
    po, pa = _origin_args(tp)
    if po is collections.Counter:
        return (pa[0] if pa else Any, int)
    if po in _MAPPING_SHAPED:
        return (pa[0], pa[1]) if len(pa) == 2 else (Any, Any)
    return None


def _as_args_of(tp: object, target: type, depth: int = 0) -> tuple[Any, ...] | None:
    """tp's type arguments re-expressed as `target`'s parameters; () if tp is bare,
    None if the mapping is not derivable."""
    po, pa = _origin_args(tp)
    if po is None or depth > _MAX_DEPTH:
        return None
    if po is target:
        return pa
    if target in _ELEMENT_SHAPED:
        element = _element_type(tp)
        if element is not None:
            return (element,)
    if target in _MAPPING_SHAPED:
        key_value = _mapping_types(tp)
        if key_value is not None:
            return key_value
    for base in _bases_of(tp):
        if _is_subclass(_origin_args(base)[0], target):
            found = _as_args_of(base, target, depth + 1)
            if found is not None:
                return found
    return None


def _tuple_shape(tp: object, depth: int = 0) -> tuple[tuple[Any, ...], bool]:
    """(element types, variadic?) of a tuple type; variadic has exactly one element type."""
    if tp is tuple or depth > _MAX_DEPTH:
        return (Any,), True
    if typing.get_origin(tp) is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return (args[0],), True
        return args, False
    if _is_namedtuple(tp):
        cls = typing.cast(type, tp)
        hints = _hints(cls)
        return tuple(hints.get(f, Any) for f in getattr(cls, "_fields", ())), False
    for base in _bases_of(tp):
        if _is_subclass(_origin_args(base)[0], tuple):
            return _tuple_shape(base, depth + 1)
    return (Any,), True
