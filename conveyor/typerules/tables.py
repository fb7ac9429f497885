"""Fixed facts the rules consult: ABC and builtin relations, promotions, variances, limits."""

from __future__ import annotations

import collections
import collections.abc as cabc
import types
import typing
from typing import Any


# --------------------------------------------------------------------------- tables

_NONE_TYPE = type(None)
_NEVERS: tuple[object, ...] = (typing.Never, typing.NoReturn)
_UNION_ORIGINS: tuple[object, ...] = (typing.Union, types.UnionType)
# Wrappers that say something about a *slot*, not about the values' type.
_QUALIFIERS: tuple[object, ...] = (
    typing.Annotated,
    typing.Required,
    typing.NotRequired,
    typing.Final,
    typing.ClassVar,
)
# Subscripting special forms with a runtime tuple is fine at runtime but not typeable.
_UNION: Any = typing.Union
_LITERAL: Any = typing.Literal
# typeshed models collections.abc.Callable as a special form; we need the runtime class.
_CALLABLE: type = typing.cast(type, cabc.Callable)

_MAX_DEPTH = 40
_MAX_REASON = 300

_CO, _CONTRA, _INV, _UNKNOWN = "co", "contra", "inv", "unknown"

# Variance of each type parameter, as declared in typeshed.
_VARIANCE: dict[type, tuple[str, ...]] = {
    list: (_INV,),
    set: (_INV,),
    collections.deque: (_INV,),
    cabc.MutableSequence: (_INV,),
    cabc.MutableSet: (_INV,),
    dict: (_INV, _INV),
    cabc.MutableMapping: (_INV, _INV),
    collections.OrderedDict: (_INV, _INV),
    collections.defaultdict: (_INV, _INV),
    collections.ChainMap: (_INV, _INV),
    collections.Counter: (_INV,),
    frozenset: (_CO,),
    cabc.Sequence: (_CO,),
    cabc.Iterable: (_CO,),
    cabc.Iterator: (_CO,),
    cabc.Collection: (_CO,),
    cabc.Container: (_CO,),
    cabc.Reversible: (_CO,),
    cabc.Set: (_CO,),
    cabc.KeysView: (_CO,),
    cabc.ValuesView: (_CO,),
    cabc.ItemsView: (_CO, _CO),
    cabc.AsyncIterable: (_CO,),
    cabc.AsyncIterator: (_CO,),
    cabc.Awaitable: (_CO,),
    cabc.Mapping: (_INV, _CO),  # keys invariant per typeshed
    cabc.Generator: (_CO, _CONTRA, _CO),
    cabc.AsyncGenerator: (_CO, _CONTRA),
    cabc.Coroutine: (_CO, _CONTRA, _CO),
    type: (_CO,),
}

# Expected origins whose single parameter is "the element type".
_ELEMENT_SHAPED: frozenset[type] = frozenset(
    {
        list, set, frozenset, collections.deque, cabc.Sequence, cabc.MutableSequence,
        cabc.Iterable, cabc.Iterator, cabc.Collection, cabc.Container, cabc.Reversible,
        cabc.Set, cabc.MutableSet, cabc.KeysView, cabc.ValuesView,
        cabc.AsyncIterable, cabc.AsyncIterator,
    }
)
# Produced origins whose first argument is the element type.
_ELEMENT_FIRST: frozenset[type] = _ELEMENT_SHAPED | {cabc.Generator, cabc.AsyncGenerator}
# Origins with (key, value) parameters.
_MAPPING_SHAPED: frozenset[type] = frozenset(
    {
        dict, cabc.Mapping, cabc.MutableMapping, collections.OrderedDict,
        collections.defaultdict, collections.ChainMap,
    }
)
# Non-generic classes that iterate a fixed element type.
_FIXED_ELEMENT: dict[type, type] = {
    str: str, bytes: int, bytearray: int, memoryview: int, range: int,
}

# Class attributes that are machinery, not protocol members (mirrors typing's list).
_NOT_PROTOCOL_MEMBERS = frozenset(
    {
        "__abstractmethods__", "__annotations__", "__weakref__", "_is_protocol",
        "_is_runtime_protocol", "__dict__", "__args__", "__slots__", "__next_in_mro__",
        "__parameters__", "__origin__", "__orig_bases__", "__extra__", "__tree_hash__",
        "__doc__", "__subclasshook__", "__init__", "__new__", "__module__",
        "_MutableMapping__marker", "_gorg", "__qualname__", "__class_getitem__",
        "__init_subclass__", "__protocol_attrs__", "__non_callable_proto_members__",
        "__callable_proto_members_only__", "__type_params__", "__firstlineno__",
        "__static_attributes__",
    }
)
