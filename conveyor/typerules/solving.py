"""Giving generic stages a concrete type: solving TypeVars from a produced type."""

from __future__ import annotations

import logging
import typing
from typing import Any, TypeVar

from conveyor.typerules.bases import _as_args_of, _tuple_shape
from conveyor.typerules.names import type_repr
from conveyor.typerules.normal import _is_literal, _is_newtype, _is_subclass, _is_typeddict, _norm, _origin_args, _union_members, _union_of
from conveyor.typerules.rules import _check, _newtype_base
from conveyor.typerules.structural import _callable_parts, _typeddict_as_dict
from conveyor.typerules.tables import _CALLABLE, _MAX_DEPTH
from conveyor.typerules.verdicts import TypeVarConflict, Verdict, _Ctx

_log = logging.getLogger("conveyor.typerules")


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
