"""The structural rule families: TypedDicts (keys and value types), Callables
(parameters and return) and Protocols (member names). Each rule returns an
EdgeCheck, or None when it does not apply; inner types are checked through the
context (``ctx.fit``), so this module needs nothing of the rule table."""

from __future__ import annotations

import collections.abc as cabc
import types
import typing
from typing import Any

from conveyor.typerules.bases import _as_args_of
from conveyor.typerules.names import type_repr
from conveyor.typerules.normal import _hints, _is_protocol_class, _is_subclass, _is_typeddict, _origin_args, _union_of
from conveyor.typerules.tables import _CALLABLE, _NOT_PROTOCOL_MEMBERS
from conveyor.typerules.verdicts import EdgeCheck, Verdict, _Ctx, _FIT, _all_of, _chain, _no, _unsure

__all__ = ["_rule_expected_typeddict", "_rule_produced_typeddict", "_rule_callable", "_rule_protocol"]


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
    if key_value and ctx.fit(key_value[0], str).verdict is Verdict.MISMATCH:
        if ctx.fit(str, key_value[0]).verdict is Verdict.MISMATCH:
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
        inner = ctx.fit(p_fields[key], e_type)
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
    return _chain(p, e, ctx.fit(_typeddict_as_dict(p), e))


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
        return _all_of([params, _chain(p, e, ctx.fit(p_ret, e_ret))])
    if po is type:  # calling a class constructs an instance; its signature is unknown
        ret = _chain(p, e, ctx.fit(pa[0] if pa else Any, e_ret))
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
        _chain(p, e, ctx.fit(ep, pp)) for pp, ep in zip(p_params, e_params)
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
