"""The answers of the relation: a verdict with its reason, TypeVar conflicts, and the small constructors the rules use."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from conveyor.typerules.names import type_repr
from conveyor.typerules.tables import _MAX_REASON


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
    #: The whole relation (``rules._check``), for rules that check inner types.
    check: Callable[[object, object, _Ctx], EdgeCheck] | None = None

    def fit(self, produced: object, expected: object) -> EdgeCheck:
        """Check an inner pair of types, one level deeper."""
        assert self.check is not None, "conveyor internal error: a rule context without the relation"
        return self.check(produced, expected, self)
