"""Does the type an upstream stage PRODUCES fit the type a downstream stage EXPECTS?

Composing pipelines with ``|`` asks this for every edge; a definite MISMATCH is an
error before any data flows.  The relation is *gradual*: whenever the rules cannot
tell, the answer is UNDECIDED and callers accept the edge.  Definite MISMATCHes
follow mypy's judgement, so we are never stricter than the type checker a user
already runs.

Written by hand instead of on top of e.g. ``beartype.door.is_subhint``: we need a
three-valued answer with a human reason, and a two-valued subhint test would force
a choice between false errors and silence on every construct it does not know.

Layout: ``check_fit`` normalises both sides and tries the rule families in
``_RULES`` in order; each returns an EdgeCheck or None ("not my case").
``solve_typevars`` and ``substitute`` give generic tasks a concrete output type.
"""

from __future__ import annotations

import collections
import collections.abc as cabc
import enum
import logging
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = [
    "EdgeCheck",
    "TypeVarConflict",
    "Verdict",
    "check_fit",
    "fits",
    "has_typevars",
    "solve_typevars",
    "substitute",
    "type_repr",
]

_log = logging.getLogger("conveyor.typerules")


class Verdict(enum.Enum):
    FITS = "fits"
    MISMATCH = "mismatch"
    UNDECIDED = "undecided"  # the rules cannot tell; callers accept the edge


@dataclass(frozen=True)
class EdgeCheck:
    verdict: Verdict
    reason: str | None = None  # short human text for MISMATCH / UNDECIDED


class TypeVarConflict(TypeError):
    """A TypeVar cannot be bound consistently (two bindings, bound or constraints)."""

    def __init__(self, typevar: TypeVar, message: str) -> None:
        super().__init__(message)
        self.typevar = typevar


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


# --------------------------------------------------------------------------- results

_FIT = EdgeCheck(Verdict.FITS, None)


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 3] + "..."


def _no(p: object, e: object, why: str) -> EdgeCheck:
    return EdgeCheck(Verdict.MISMATCH, _clip(f"{type_repr(p)} does not fit {type_repr(e)}: {why}"))


def _unsure(p: object, e: object, why: str) -> EdgeCheck:
    return EdgeCheck(
        Verdict.UNDECIDED, _clip(f"cannot tell whether {type_repr(p)} fits {type_repr(e)}: {why}")
    )


def _chain(p: object, e: object, inner: EdgeCheck) -> EdgeCheck:
    """Re-attribute an inner MISMATCH to the outer pair; FITS/UNDECIDED pass through."""
    if inner.verdict is Verdict.MISMATCH:
        return _no(p, e, inner.reason or "an inner type does not fit")
    return inner


def _all_of(checks: Iterable[EdgeCheck]) -> EdgeCheck:
    """Conjunction: first MISMATCH wins, else first UNDECIDED, else FITS."""
    undecided: EdgeCheck | None = None
    for check in checks:
        if check.verdict is Verdict.MISMATCH:
            return check
        if check.verdict is Verdict.UNDECIDED and undecided is None:
            undecided = check
    return undecided or _FIT


@dataclass(frozen=True)
class _Ctx:
    bindings: Mapping[TypeVar, object]
    depth: int = 0


# --------------------------------------------------------------------------- public API


def check_fit(
    produced: object, expected: object, bindings: dict[TypeVar, object] | None = None
) -> EdgeCheck:
    """Can values of type ``produced`` flow into a stage expecting ``expected``?"""
    try:
        result = _check(produced, expected, _Ctx(bindings or {}))
    except Exception as exc:  # never raise: junk annotations are merely undecidable
        result = _unsure(produced, expected, f"internal {type(exc).__name__}")
    if result.verdict is Verdict.UNDECIDED:
        _log.debug("undecided edge: %s", result.reason)
    return result


def fits(produced: object, expected: object) -> bool:
    """True unless the edge is a definite MISMATCH."""
    return check_fit(produced, expected).verdict is not Verdict.MISMATCH


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


# --------------------------------------------------------------------------- the checker


def _check(produced: object, expected: object, ctx: _Ctx) -> EdgeCheck:
    if ctx.depth > _MAX_DEPTH:
        return _unsure(produced, expected, "types are nested too deeply")
    ctx = _Ctx(ctx.bindings, ctx.depth + 1)
    p = _resolve(produced, ctx.bindings)
    e = _resolve(expected, ctx.bindings)
    for rule in _RULES:
        result = rule(p, e, ctx)
        if result is not None:
            return result
    return _unsure(p, e, "no rule applies")


def _rule_trivial(p: object, e: object, ctx: _Ctx) -> EdgeCheck | None:
    # Any is gradual both ways; object accepts everything; Never has no values at all.
    if _same(p, e) or e is Any or e is object or p is Any or _is_never(p):
        return _FIT
    if _is_never(e):
        return _no(p, e, "nothing fits Never")
    return None


def _rule_forward_ref(p: object, e: object, ctx: _Ctx) -> EdgeCheck | None:
    if isinstance(p, (str, typing.ForwardRef)) or isinstance(e, (str, typing.ForwardRef)):
        return _unsure(p, e, "forward references are not resolved")
    return None


def _rule_expected_typevar(p: object, e: object, ctx: _Ctx) -> EdgeCheck | None:
    """An unbound TypeVar accepts whatever satisfies its bound / constraints."""
    if not isinstance(e, TypeVar):
        return None
    if e.__constraints__:
        return _fit_constraints(p, e, ctx)
    if e.__bound__ is None:
        return _FIT
    inner = _check(p, e.__bound__, ctx)
    if inner.verdict is Verdict.MISMATCH:
        return _no(p, e, f"violates the bound {type_repr(e.__bound__)} of {e.__name__}")
    return inner


def _fit_constraints(p: object, tv: TypeVar, ctx: _Ctx) -> EdgeCheck:
    verdicts = [_check(p, c, ctx).verdict for c in tv.__constraints__]
    if Verdict.FITS in verdicts:
        return _FIT
    members = _union_members(p)
    if members is not None and all(
        any(_check(m, c, ctx).verdict is Verdict.FITS for c in tv.__constraints__)
        for m in members
    ):
        # mypy rejects a union spanning constraints, but every value is fine at runtime.
        return _unsure(p, tv, f"the union spans several constraints of {tv.__name__}")
    if Verdict.UNDECIDED in verdicts:
        return _unsure(p, tv, f"fit to the constraints of {tv.__name__} is unclear")
    names = ", ".join(type_repr(c) for c in tv.__constraints__)
    return _no(p, tv, f"{tv.__name__} is constrained to {names}")


def _rule_produced_typevar(p: object, e: object, ctx: _Ctx) -> EdgeCheck | None:
    """An unsolved TypeVar output could become anything under its bound."""
    if not isinstance(p, TypeVar):
        return None
    if p.__constraints__:
        verdicts = [_check(c, e, ctx).verdict for c in p.__constraints__]
        if all(v is Verdict.FITS for v in verdicts):
            return _FIT
        if all(v is Verdict.MISMATCH for v in verdicts):
            return _no(p, e, f"no constraint of {p.__name__} fits")
        return _unsure(p, e, f"depends on how {p.__name__} is solved")
    upper = object if p.__bound__ is None else p.__bound__
    if _check(upper, e, ctx).verdict is Verdict.FITS:
        return _FIT
    if _check(e, upper, ctx).verdict is not Verdict.MISMATCH:
        return _unsure(p, e, f"{p.__name__} is unsolved")
    return _no(p, e, f"{p.__name__} is bounded by {type_repr(upper)}")


def _produced_members(p: object) -> tuple[Any, ...] | None:
    """Union members; Literal['a', 1] is the union Literal['a'] | Literal[1]."""
    if _is_literal(p) and len(typing.get_args(p)) > 1:
        return tuple(_LITERAL[v] for v in typing.get_args(p))
    return _union_members(p)


def _rule_produced_union(p: object, e: object, ctx: _Ctx) -> EdgeCheck | None:
    """Every member of a produced union must fit."""
    members = _produced_members(p)
    if members is None:
        return None
    undecided: EdgeCheck | None = None
    for member in members:
        result = _check(member, e, ctx)
        if result.verdict is Verdict.MISMATCH:
            return _no(p, e, f"its member {type_repr(member)} does not fit")
        if result.verdict is Verdict.UNDECIDED and undecided is None:
            undecided = result
    return undecided or _FIT


def _rule_expected_union(p: object, e: object, ctx: _Ctx) -> EdgeCheck | None:
    """A value fits an expected union when it fits some member."""
    members = _union_members(e)
    if members is None:
        return None
    undecided: EdgeCheck | None = None
    for member in members:
        result = _check(p, member, ctx)
        if result.verdict is Verdict.FITS:
            return _FIT
        if result.verdict is Verdict.UNDECIDED and undecided is None:
            undecided = result
    return undecided or _no(p, e, "it fits no member of the union")


def _same_literal_value(a: object, b: object) -> bool:
    # Literal[1] and Literal[True] differ although 1 == True.
    return type(a) is type(b) and _same(a, b)


def _rule_produced_literal(p: object, e: object, ctx: _Ctx) -> EdgeCheck | None:
    if not _is_literal(p):
        return None
    values = typing.get_args(p)
    if _is_literal(e):
        allowed = typing.get_args(e)
        for value in values:
            if not any(_same_literal_value(value, a) for a in allowed):
                return _no(p, e, f"{value!r} is not an allowed value")
        return _FIT
    return _chain(p, e, _all_of(_check(type(v), e, ctx) for v in values))


def _covers_all_values(p: object, values: tuple[Any, ...]) -> bool:
    """bool and enum classes are finite: Literal[True, False] is just bool."""
    if p is bool:
        domain: list[object] = [True, False]
    elif _is_subclass(p, enum.Enum):
        domain = list(typing.cast(type[enum.Enum], p))
    else:
        return False
    return all(any(_same_literal_value(d, v) for v in values) for d in domain)


def _rule_expected_literal(p: object, e: object, ctx: _Ctx) -> EdgeCheck | None:
    # str -> Literal['a'] is a MISMATCH, as for mypy and pyright: the declared type
    # promises any str, and agreeing with the static checkers on every | verdict
    # matters more than the chance that all values happen to be 'a' (like int ->
    # UserId, a value must be narrowed or declared as the Literal upstream).
    if not _is_literal(e):
        return None
    values = typing.get_args(e)
    if _covers_all_values(p, values):
        return _FIT
    carrier = _newtype_base(p)
    if any(_check(type(v), carrier, ctx).verdict is not Verdict.MISMATCH for v in values):
        return _no(p, e, f"only some {type_repr(p)} values are allowed; declare the Literal upstream")
    return _no(p, e, "no allowed value has that type")


def _newtype_base(tp: object) -> object:
    for _ in range(_MAX_DEPTH):
        if not _is_newtype(tp):
            break
        tp = _norm(getattr(tp, "__supertype__", Any))
    return tp


def _rule_expected_newtype(p: object, e: object, ctx: _Ctx) -> EdgeCheck | None:
    # A plain int *may* be a valid UserId at runtime, but mypy rejects int -> UserId
    # and wrapping is the documented intent of NewType, so we agree: MISMATCH.
    if not _is_newtype(e):
        return None
    current = p
    for _ in range(_MAX_DEPTH):
        if not _is_newtype(current):
            break
        if current is e:
            return _FIT
        current = _norm(getattr(current, "__supertype__", Any))
    name = getattr(e, "__name__", "NewType")
    return _no(p, e, f"{name} is a NewType; wrap values with {name}(...)")


def _rule_produced_newtype(p: object, e: object, ctx: _Ctx) -> EdgeCheck | None:
    if not _is_newtype(p):
        return None
    return _chain(p, e, _check(getattr(p, "__supertype__", Any), e, ctx))


def _rule_expected_typeddict(p: object, e: object, ctx: _Ctx) -> EdgeCheck | None:
    if not _is_typeddict(e):
        return None
    if _is_typeddict(p):
        return _typeddict_to_typeddict(p, e, ctx)
    po, _ = _origin_args(p)
    if po is None:
        return _unsure(p, e, "not a class-like type")
    if not _is_subclass(po, cabc.Mapping):
        return _no(p, e, "it is not a mapping")
    key_value = _as_args_of(p, cabc.Mapping)
    if key_value and _check(key_value[0], str, ctx).verdict is Verdict.MISMATCH:
        if _check(str, key_value[0], ctx).verdict is Verdict.MISMATCH:
            return _no(p, e, "its keys are not str")
    return _unsure(p, e, "a plain mapping may or may not carry the required keys")


def _typeddict_to_typeddict(p: object, e: object, ctx: _Ctx) -> EdgeCheck:
    """Structural: required keys present (and required) with fitting value types."""
    p_cls, e_cls = typing.cast(type, p), typing.cast(type, e)
    p_fields, e_fields = _hints(p_cls), _hints(e_cls)
    p_required, e_required = _required_keys(p_cls), _required_keys(e_cls)
    results: list[EdgeCheck] = []
    for key, e_type in e_fields.items():
        if key not in p_fields:
            if key in e_required:
                return _no(p, e, f"required key {key!r} is missing")
            results.append(_unsure(p, e, f"optional key {key!r} is not declared upstream"))
            continue
        if key in e_required and key not in p_required:
            return _no(p, e, f"key {key!r} is required but may be missing")
        inner = _check(p_fields[key], e_type, ctx)
        if inner.verdict is Verdict.MISMATCH:
            return _no(p, e, f"key {key!r}: {inner.reason}")
        results.append(inner)
    return _all_of(results)


def _required_keys(td: type) -> frozenset[str]:
    """__required_keys__, corrected for Required/NotRequired hidden in string
    annotations (`from __future__ import annotations`), which 3.11 misses."""
    required = set(getattr(td, "__required_keys__", ()))
    try:
        hints = typing.get_type_hints(td, include_extras=True)
    except Exception:
        return frozenset(required)
    for key, hint in hints.items():
        while typing.get_origin(hint) is typing.Annotated:
            hint = typing.get_args(hint)[0]
        if typing.get_origin(hint) is typing.NotRequired:
            required.discard(key)
        elif typing.get_origin(hint) is typing.Required:
            required.add(key)
    return frozenset(required)


def _typeddict_as_dict(td: object) -> object:
    # Outside TypedDict-to-TypedDict checks a TypedDict is a dict of its value types.
    fields = list(_hints(typing.cast(type, td)).values())
    return types.GenericAlias(dict, (str, _union_of(fields) if fields else Any))


def _rule_produced_typeddict(p: object, e: object, ctx: _Ctx) -> EdgeCheck | None:
    if not _is_typeddict(p):
        return None
    return _chain(p, e, _check(_typeddict_as_dict(p), e, ctx))


def _callable_parts(tp: object) -> tuple[object, object]:
    """(parameters, return) of a Callable alias; bare Callable is Callable[..., Any]."""
    args = typing.get_args(tp)
    return (args[0], args[1]) if len(args) == 2 else (Ellipsis, Any)


def _rule_callable(p: object, e: object, ctx: _Ctx) -> EdgeCheck | None:
    eo, _ = _origin_args(e)
    if eo is not _CALLABLE:
        return None
    e_params, e_ret = _callable_parts(e)
    po, pa = _origin_args(p)
    if po is _CALLABLE:
        p_params, p_ret = _callable_parts(p)
        params = _fit_params(p, e, p_params, e_params, ctx)
        return _all_of([params, _chain(p, e, _check(p_ret, e_ret, ctx))])
    if po is type:  # calling a class constructs an instance; its signature is unknown
        ret = _chain(p, e, _check(pa[0] if pa else Any, e_ret, ctx))
        if e_params is Ellipsis or ret.verdict is Verdict.MISMATCH:
            return ret
        return _unsure(p, e, "constructor parameters are not inspected")
    if po is None:
        return _unsure(p, e, "not a class-like type")
    if not _is_subclass(po, _CALLABLE):
        return _no(p, e, f"{type_repr(po)} instances are not callable")
    if e_params is Ellipsis and e_ret is Any:
        return _FIT
    return _unsure(p, e, f"the signature of {type_repr(po)}.__call__ is not inspected")


def _fit_params(
    p: object, e: object, p_params: object, e_params: object, ctx: _Ctx
) -> EdgeCheck:
    if p_params is Ellipsis or e_params is Ellipsis:
        return _FIT
    if not (isinstance(p_params, list) and isinstance(e_params, list)):
        return _unsure(p, e, "ParamSpec / Concatenate parameters are not compared")
    if len(p_params) != len(e_params):
        return _no(p, e, f"takes {len(p_params)} arguments, {len(e_params)} expected")
    # Parameters are contravariant: the caller will pass what `e` promises.
    return _all_of(
        _chain(p, e, _check(ep, pp, ctx)) for pp, ep in zip(p_params, e_params)
    )


def _protocol_members(proto: type) -> dict[str, bool]:
    """Member name -> whether it is a method (missing methods are definite)."""
    members: dict[str, bool] = {}
    for base in proto.__mro__[:-1]:
        if base.__name__ in ("Protocol", "Generic"):
            continue
        annotations = dict(base.__dict__.get("__annotations__", {}))
        for name in [*base.__dict__, *annotations]:
            if name.startswith("_abc_") or name in _NOT_PROTOCOL_MEMBERS:
                continue
            members.setdefault(name, callable(base.__dict__.get(name)))
    return members


def _has_member(cls: type, name: str, is_method: bool) -> bool:
    if hasattr(cls, name):
        # `__hash__ = None` and friends explicitly remove a method.
        return not (is_method and getattr(cls, name, None) is None)
    return any(name in b.__dict__.get("__annotations__", {}) for b in cls.__mro__)


def _rule_protocol(p: object, e: object, ctx: _Ctx) -> EdgeCheck | None:
    """Structural check by member names; signatures are not compared."""
    eo, ea = _origin_args(e)
    if eo is None or not _is_protocol_class(eo):
        return None
    po, pa = _origin_args(p)
    if po is None:
        return _unsure(p, e, "members cannot be inspected")
    if po is type and pa and isinstance(pa[0], type):
        return _class_object_vs_protocol(p, e, pa[0], eo)
    if eo in po.__mro__:
        return None  # explicit subclass: the nominal rule compares type arguments
    undecided: EdgeCheck | None = None
    for name, is_method in _protocol_members(eo).items():
        if _has_member(po, name, is_method):
            continue
        # Data members may be set per instance, unless instances have no __dict__.
        if is_method or getattr(po, "__dictoffset__", 1) == 0:
            return _no(p, e, f"it has no member {name!r}")
        undecided = undecided or _unsure(p, e, f"{name!r} may be set on instances")
    if undecided is None and any(a is not Any for a in ea):
        undecided = _unsure(p, e, "protocol type arguments are not compared")
    return undecided or _FIT


def _class_object_vs_protocol(p: object, e: object, cls: type, proto: type) -> EdgeCheck:
    """type[X] used as a protocol value: members are looked up on the class object,
    where methods are unbound, so presence is all we can confirm."""
    for name in _protocol_members(proto):
        if not (hasattr(cls, name) or hasattr(type(cls), name)):
            return _no(p, e, f"the class object has no member {name!r}")
    return _unsure(p, e, "class-object members are not compared with the protocol")


def _promotes(po: type, eo: type) -> bool:
    """PEP 484 numeric tower: int -> float -> complex (bool is an int)."""
    if eo is float:
        return _is_subclass(po, int)
    if eo is complex:
        return _is_subclass(po, int) or _is_subclass(po, float)
    return False


def _rule_nominal(p: object, e: object, ctx: _Ctx) -> EdgeCheck | None:
    """Classes and generic aliases: subclassing plus type arguments by variance."""
    po, _ = _origin_args(p)
    eo, ea = _origin_args(e)
    if po is None or eo is None:
        return _unsure(p, e, "not a class-like type")
    if _promotes(po, eo):
        return _FIT
    if not _is_subclass(po, eo):
        return _no(p, e, f"{type_repr(po)} is not a subclass of {type_repr(eo)}")
    if eo is tuple and typing.get_origin(e) is tuple:
        return _fit_tuple(p, e, ctx)
    if not ea or all(a is Any for a in ea):
        return _FIT  # bare generics mean "any arguments"
    projected = _as_args_of(p, eo)
    if projected is None:
        why = f"cannot map the type arguments of {type_repr(po)} onto {type_repr(eo)}"
        return _unsure(p, e, why)
    if not projected:
        return _FIT  # bare produced generic: its arguments are Any
    if len(projected) != len(ea):
        return _unsure(p, e, "type argument counts differ")
    results = []
    for p_arg, e_arg, variance in zip(projected, ea, _variances(eo, len(ea))):
        result = _fit_arg(p_arg, e_arg, variance, eo, ctx)
        if result.verdict is Verdict.MISMATCH:
            return _no(p, e, result.reason or "a type argument does not fit")
        results.append(result)
    return _all_of(results)


def _variances(origin: type, count: int) -> tuple[str, ...]:
    if origin in _VARIANCE and len(_VARIANCE[origin]) == count:
        return _VARIANCE[origin]
    params = tuple(getattr(origin, "__parameters__", ()))
    if len(params) != count:
        return (_UNKNOWN,) * count
    return tuple(_typevar_variance(tv) for tv in params)


def _typevar_variance(tv: object) -> str:
    if not isinstance(tv, TypeVar):
        return _UNKNOWN
    if tv.__covariant__:
        return _CO
    return _CONTRA if tv.__contravariant__ else _INV


def _fit_arg(p_arg: object, e_arg: object, variance: str, origin: type, ctx: _Ctx) -> EdgeCheck:
    """Compare one type argument; a MISMATCH reason continues "X does not fit Y: "."""
    if variance == _CO:
        return _check(p_arg, e_arg, ctx)
    if variance == _CONTRA:
        return _check(e_arg, p_arg, ctx)
    e_resolved = _resolve(e_arg, ctx.bindings)
    if isinstance(e_resolved, TypeVar):  # an unsolved TypeVar can be solved to p_arg exactly
        return _check(p_arg, e_resolved, ctx)
    forward = _check(p_arg, e_arg, ctx)
    backward = _check(e_arg, p_arg, ctx)
    if forward.verdict is Verdict.FITS and backward.verdict is Verdict.FITS:
        return _FIT
    one_way = forward.verdict is Verdict.FITS and backward.verdict is Verdict.MISMATCH
    if variance == _INV and one_way:
        return EdgeCheck(Verdict.MISMATCH, f"{type_repr(origin)} is invariant")
    if forward.verdict is Verdict.MISMATCH and (
        variance == _INV or backward.verdict is Verdict.MISMATCH
    ):
        return forward
    # An undecided direction, or a one-way fit under unknown variance.
    pair = f"{type_repr(p_arg)} and {type_repr(e_arg)}"
    if variance == _INV:
        why = f"cannot tell whether {pair} are equal, as invariant {type_repr(origin)} requires"
    else:
        why = f"cannot tell how {pair} relate: {type_repr(origin)}'s variance is unknown"
    return EdgeCheck(Verdict.UNDECIDED, _clip(why))


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


def _fit_tuple(p: object, e: object, ctx: _Ctx) -> EdgeCheck:
    p_elems, p_variadic = _tuple_shape(p)
    e_elems, e_variadic = _tuple_shape(e)
    if e_variadic:
        return _chain(p, e, _all_of(_check(x, e_elems[0], ctx) for x in p_elems))
    if p_variadic:
        if p_elems[0] is Any:
            return _FIT  # tuple[Any, ...] is the gradual tuple
        inner = _all_of(_check(p_elems[0], x, ctx) for x in e_elems)
        if inner.verdict is Verdict.MISMATCH:
            return _chain(p, e, inner)
        return _unsure(p, e, "the length of a variadic tuple is unknown")
    if len(p_elems) != len(e_elems):
        return _no(p, e, f"tuple length {len(p_elems)} is not {len(e_elems)}")
    return _chain(p, e, _all_of(_check(x, y, ctx) for x, y in zip(p_elems, e_elems)))


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


_Rule = Callable[[object, object, _Ctx], "EdgeCheck | None"]

# Order matters: TypeVars and unions distribute before anything looks inside a type.
_RULES: tuple[_Rule, ...] = (
    _rule_trivial,
    _rule_forward_ref,
    _rule_expected_typevar,
    _rule_produced_typevar,
    _rule_produced_union,
    _rule_expected_union,
    _rule_produced_literal,
    _rule_expected_literal,
    _rule_expected_newtype,
    _rule_produced_newtype,
    _rule_expected_typeddict,
    _rule_produced_typeddict,
    _rule_callable,
    _rule_protocol,
    _rule_nominal,
)


# --------------------------------------------------------------------------- TypeVar solving


_Bindings = dict[TypeVar, object]


def _quiet_verdict(p: object, e: object) -> Verdict:
    """check_fit without logging, for internal use while solving."""
    try:
        return _check(p, e, _Ctx({})).verdict
    except Exception:
        return Verdict.UNDECIDED


def solve_typevars(pattern: object, concrete: object, bindings: dict[TypeVar, object]) -> None:
    """Bind the TypeVars of `pattern` (a generic task's input type) from `concrete`.

    Raises TypeVarConflict when a TypeVar would be bound inconsistently or against
    its bound / constraints.  Unmatchable structure is left to check_fit.
    """
    try:
        _solve(pattern, concrete, bindings, 0)
    except TypeVarConflict:
        raise
    except Exception as exc:  # malformed typing objects (e.g. Callable[()]): bind nothing more
        _log.debug("cannot solve %r against %r: %r", pattern, concrete, exc)


def has_typevars(tp: object) -> bool:
    """Does ``tp`` mention a TypeVar (so a generic task's type still needs binding)?"""
    try:
        return isinstance(tp, TypeVar) or bool(getattr(tp, "__parameters__", ()))
    except Exception:  # an odd typing object: treat as concrete
        return False


_has_typevars = has_typevars


def _solve(pattern: object, concrete: object, bindings: _Bindings, depth: int) -> None:
    pat, conc = _norm(pattern), _norm(concrete)
    if depth > _MAX_DEPTH or conc is Any or isinstance(pat, type):
        return
    if isinstance(pat, TypeVar):
        _bind(pat, conc, bindings)
        return
    if not _has_typevars(pat) or isinstance(conc, (str, typing.ForwardRef)):
        return
    if _union_members(pat) is not None:
        _solve_union(pat, conc, bindings, depth)
    elif _union_members(conc) is not None:
        _solve_each_member(pat, conc, bindings, depth)
    elif _is_newtype(conc) or _is_literal(conc):
        _solve(pat, _newtype_base(_widen_literal(conc)), bindings, depth + 1)
    elif _is_typeddict(conc):
        _solve(pat, _typeddict_as_dict(conc), bindings, depth + 1)
    else:
        _solve_structure(pat, conc, bindings, depth)


def _solve_structure(pat: object, conc: object, bindings: _Bindings, depth: int) -> None:
    po, pa = _origin_args(pat)
    co, ca = _origin_args(conc)
    if po is None or co is None:
        return
    if po is _CALLABLE:
        _solve_callable(pat, conc, bindings, depth)
    elif po is tuple and _is_subclass(co, tuple):
        _solve_tuple(pat, conc, bindings, depth)
    elif _is_subclass(co, po):
        projected = _as_args_of(conc, po)
        if projected and len(projected) == len(pa):
            for p_arg, c_arg in zip(pa, projected):
                _solve(p_arg, c_arg, bindings, depth + 1)


def _solve_callable(pat: object, conc: object, bindings: _Bindings, depth: int) -> None:
    p_params, p_ret = _callable_parts(pat)
    co, ca = _origin_args(conc)
    if co is type:  # a class used as a factory returns its instances
        _solve(p_ret, ca[0] if ca else Any, bindings, depth + 1)
        return
    if co is not _CALLABLE:
        return
    c_params, c_ret = _callable_parts(conc)
    if isinstance(p_params, list) and isinstance(c_params, list) and len(p_params) == len(c_params):
        for p_arg, c_arg in zip(p_params, c_params):
            _solve(p_arg, c_arg, bindings, depth + 1)
    _solve(p_ret, c_ret, bindings, depth + 1)


def _solve_tuple(pat: object, conc: object, bindings: _Bindings, depth: int) -> None:
    p_elems, p_variadic = _tuple_shape(pat)
    c_elems, c_variadic = _tuple_shape(conc)
    if p_variadic:
        if c_elems:  # tuple[T, ...] from tuple[int, str] solves T = int | str
            _solve(p_elems[0], _union_of(c_elems), bindings, depth + 1)
    elif c_variadic:
        for p_elem in p_elems:
            _solve(p_elem, c_elems[0], bindings, depth + 1)
    elif len(p_elems) == len(c_elems):
        for p_elem, c_elem in zip(p_elems, c_elems):
            _solve(p_elem, c_elem, bindings, depth + 1)


def _solve_union(pat: object, conc: object, bindings: _Bindings, depth: int) -> None:
    """`T | None` from `int | None`: members matched by fixed parts are not T's."""
    members = _union_members(pat) or ()
    fixed = [m for m in members if not _has_typevars(m)]
    bare = [m for m in members if isinstance(m, TypeVar)]
    structured = [m for m in members if _has_typevars(m) and not isinstance(m, TypeVar)]
    rest: list[object] = []
    for c in _union_members(conc) or (conc,):
        if any(_quiet_verdict(c, f) is Verdict.FITS for f in fixed):
            continue
        co = _origin_args(c)[0]
        target = next((s for s in structured if _is_subclass(co, _origin_args(s)[0])), None)
        if target is not None:
            _solve(target, c, bindings, depth + 1)
        else:
            rest.append(c)
    if rest and len(bare) == 1:
        _bind(bare[0], _union_of(rest), bindings)


def _solve_each_member(pat: object, conc: object, bindings: _Bindings, depth: int) -> None:
    """list[T] from list[int] | list[str]: solve per member, then join as a union."""
    collected: dict[TypeVar, list[object]] = {}
    for member in _union_members(conc) or ():
        scratch = dict(bindings)
        _solve(pat, member, scratch, depth + 1)
        for tv, value in scratch.items():
            if tv not in bindings or bindings[tv] is not value:
                collected.setdefault(tv, []).append(value)
    for tv, values in collected.items():
        _bind(tv, _union_of(values), bindings)


def _widen_literal(tp: object) -> object:
    # Inference widens Literal['a'] to str, as mypy does; otherwise 'a' then 'b' conflicts.
    if not _is_literal(tp):
        return tp
    return _union_of([type(v) for v in typing.get_args(tp)])


def _bind(tv: TypeVar, value: object, bindings: dict[TypeVar, object]) -> None:
    value = _widen_literal(_norm(value))
    if value is Any:
        return  # Any carries no information; an unbound TypeVar substitutes to Any
    value = _admit(tv, value)
    if tv not in bindings:
        bindings[tv] = value
        return
    bindings[tv] = _join(tv, bindings[tv], value)


def _admit(tv: TypeVar, value: object) -> object:
    """Check bound / constraints; a constrained TypeVar binds to the constraint itself."""
    bound = tv.__bound__
    if bound is not None and _quiet_verdict(value, bound) is Verdict.MISMATCH:
        raise TypeVarConflict(
            tv,
            f"cannot bind {tv.__name__} to {type_repr(value)}: "
            f"it violates the bound {type_repr(bound)}",
        )
    constraints = tv.__constraints__
    if not constraints:
        return value
    for c in constraints:
        if _quiet_verdict(value, c) is Verdict.FITS:
            return c
    picked = [_first_fitting(m, constraints) for m in _union_members(value) or ()]
    if picked and all(c is not None for c in picked):
        return _union_of(picked)  # union spanning constraints (check_fit says UNDECIDED)
    if any(_quiet_verdict(value, c) is Verdict.UNDECIDED for c in constraints):
        return value
    names = ", ".join(type_repr(c) for c in constraints)
    raise TypeVarConflict(
        tv,
        f"cannot bind {tv.__name__} to {type_repr(value)}: "
        f"it is none of the constraints {names}",
    )


def _first_fitting(member: object, constraints: tuple[Any, ...]) -> object | None:
    return next((c for c in constraints if _quiet_verdict(member, c) is Verdict.FITS), None)


def _join(tv: TypeVar, old: object, new: object) -> object:
    """Widen to whichever binding covers the other; unrelated bindings conflict."""
    forward, backward = _quiet_verdict(new, old), _quiet_verdict(old, new)
    if forward is Verdict.FITS:
        return old
    if backward is Verdict.FITS:
        return new
    if Verdict.UNDECIDED in (forward, backward):
        return old
    raise TypeVarConflict(
        tv, f"TypeVar {tv.__name__} is bound to both {type_repr(old)} and {type_repr(new)}"
    )


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


# --------------------------------------------------------------------------- type_repr


def type_repr(tp: object) -> str:
    """Short readable name: int, list[str], dict[str, Any], int | None, Literal['a']."""
    try:
        return _repr(tp, 0)
    except Exception:
        return object.__repr__(tp)


def _repr(tp: object, depth: int) -> str:
    if depth > _MAX_DEPTH:
        return "..."
    simple = _simple_repr(tp)
    if simple is not None:
        return simple
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    sub = [_repr(a, depth + 1) for a in args]
    if any(origin is u for u in _UNION_ORIGINS):
        return " | ".join(sub)
    if origin is typing.Literal:
        return f"Literal[{', '.join(_literal_value_repr(a) for a in args)}]"
    if origin is typing.Annotated:
        return f"Annotated[{sub[0]}, {', '.join(repr(m) for m in args[1:])}]"
    if origin is _CALLABLE and len(args) == 2:
        return f"Callable[{sub[0]}, {sub[1]}]"
    if origin is tuple and not args:
        return "tuple[()]"
    if origin is not None:
        head = _repr(origin, depth + 1)
        return f"{head}[{', '.join(sub)}]" if args else head
    if isinstance(tp, type):
        return tp.__qualname__
    return repr(tp).replace("typing.", "")


def _simple_repr(tp: object) -> str | None:
    if tp is Any:
        return "Any"
    if tp is None or tp is _NONE_TYPE:
        return "None"
    if tp is Ellipsis:
        return "..."
    if isinstance(tp, str):
        return repr(tp)
    if isinstance(tp, typing.ForwardRef):
        return repr(tp.__forward_arg__)
    if isinstance(tp, (TypeVar, typing.ParamSpec, typing.TypeVarTuple, typing.NewType)):
        return str(tp.__name__)
    if isinstance(tp, list):  # Callable parameter list
        return "[" + ", ".join(_repr(a, 1) for a in tp) + "]"
    return None


def _literal_value_repr(value: object) -> str:
    if isinstance(value, enum.Enum):
        return f"{type(value).__qualname__}.{value.name}"
    return repr(value)
