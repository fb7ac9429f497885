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

Layout, one concept per module: ``verdicts`` (the answers), ``tables`` (fixed
facts), ``normal`` (normalising, substituting), ``rules`` (``check_fit`` and the
rule families), ``bases`` (generic bases), ``solving`` (TypeVars), ``names``
(``type_repr``). This package imports nothing of conveyor.
"""

from conveyor.typerules.names import type_repr
from conveyor.typerules.normal import substitute
from conveyor.typerules.rules import check_fit, fits
from conveyor.typerules.solving import has_typevars, solve_typevars
from conveyor.typerules.verdicts import EdgeCheck, TypeVarConflict, Verdict

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
