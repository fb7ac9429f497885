"""The relation itself: ``check_fit`` tries the rule families in ``_RULES`` in order; each returns an EdgeCheck or None."""

from __future__ import annotations

import enum
import logging
import typing
from collections.abc import Callable
from typing import Any, TypeVar

from conveyor.typerules.bases import _as_args_of, _tuple_shape
from conveyor.typerules.names import type_repr
from conveyor.typerules.normal import _is_literal, _is_never, _is_newtype, _is_subclass, _norm, _origin_args, _resolve, _same, _union_members
from conveyor.typerules.tables import _CO, _CONTRA, _INV, _LITERAL, _MAX_DEPTH, _UNKNOWN, _VARIANCE
from conveyor.typerules.structural import _rule_callable, _rule_expected_typeddict, _rule_produced_typeddict, _rule_protocol
from conveyor.typerules.verdicts import EdgeCheck, Verdict, _Ctx, _FIT, _all_of, _chain, _clip, _no, _unsure

_log = logging.getLogger("conveyor.typerules")


# --------------------------------------------------------------------------- public API


def check_fit(
    produced: object, expected: object, bindings: dict[TypeVar, object] | None = None
) -> EdgeCheck:
    """Can values of type ``produced`` flow into a stage expecting ``expected``?"""
    try:
        result = _check(produced, expected, _Ctx(bindings or {}, check=_check))
    except Exception as exc:  # never raise: junk annotations are merely undecidable
        result = _unsure(produced, expected, f"internal {type(exc).__name__}")
    if result.verdict is Verdict.UNDECIDED:
        _log.debug("undecided edge: %s", result.reason)
    return result


def fits(produced: object, expected: object) -> bool:
    """True unless the edge is a definite MISMATCH."""
    return check_fit(produced, expected).verdict is not Verdict.MISMATCH




# --------------------------------------------------------------------------- the checker


def _check(produced: object, expected: object, ctx: _Ctx) -> EdgeCheck:
    if ctx.depth > _MAX_DEPTH:
        return _unsure(produced, expected, "types are nested too deeply")
    ctx = _Ctx(ctx.bindings, ctx.depth + 1, _check)
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
