"""Branching stages: fan, fork, route, tee and merge (the model; nothing here runs).

Each combinator is itself one step of a pipeline, so ``|`` stays the one way to
compose: ``parse | fork(price, stock) | combine``. Its branches are full pipelines
(batch tasks, generators, side inputs, retries, nested combinators). The types are
checked when the combinator is composed: the item type flowing in must fit every
branch (``route`` hands each branch the type it narrows to), and what comes out is
the union of the branch outputs (``fan``, ``route``, ``merge``), the tuple of them
(``fork``), or the item itself (``tee``).

The public functions (``conveyor.branching``, typed with overloads for 2 to 6
branches) build these descriptions; ``runtime/branch_nodes.py`` runs them.
"""

from __future__ import annotations

import inspect
import sys
import typing
from collections.abc import AsyncIterable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal

from conveyor.errors import PipelineTypeError
from conveyor.stage_types import NOTHING, StageTypes
from conveyor.typecheck import Junction, TypecheckMode, flow_through
from conveyor.typerules import Verdict, check_fit, type_repr

if TYPE_CHECKING:
    from conveyor.pipeline import Pipeline

__all__ = ["Combinator", "CombinatorKind", "NO_ROUTE", "Router"]

CombinatorKind = Literal["fan", "fork", "route", "tee", "merge"]

#: What a router returns for an item no branch takes.
NO_ROUTE: Final = -1

#: item -> index of the branch that takes it, or NO_ROUTE.
Router = Callable[[Any], int]


@dataclass(frozen=True, eq=False, slots=True)
class Combinator:
    """One branching step. Its branches are pipelines; ``labels`` name them."""

    kind: CombinatorKind
    branches: tuple[Pipeline[Any, Any], ...]
    labels: tuple[str, ...]
    defined_at: str
    #: route: which branch takes an item; the type each branch receives (None: the item type).
    router: Router | None = None
    narrowed: tuple[Any, ...] = ()
    rule: str = ""  # route: how it chooses, for messages and diagrams
    #: route by a TypeIs predicate: the other branch gets what the predicate rules out.
    narrows_rest: bool = False
    #: route: (parameter name, type) the predicate or key function takes, if annotated.
    accepts: tuple[str, Any] | None = None
    #: route_by_type: True when an item of no listed type has a default branch.
    has_default: bool = True
    #: merge: plain data sources (iterables / async iterables) by branch index.
    data: Mapping[int, Iterable[Any] | AsyncIterable[Any]] = field(default_factory=dict)

    # -- what a pipeline step must offer (a Task offers the same) --------------------------

    @property
    def name(self) -> str:
        return f"{self.kind}({', '.join(self.labels)})"

    @property
    def is_source(self) -> bool:
        return self.kind == "merge"

    @property
    def side_inputs(self) -> Mapping[str, Any]:
        return {}  # each branch binds its own

    @property
    def unbound_side_inputs(self) -> tuple[str, ...]:
        return ()  # every branch pipeline was checked when it was composed

    @property
    def types(self) -> StageTypes:
        """Declared types, before anything flows in: the first branch's input and
        the combined outputs (composition refines them with ``flow_from``)."""
        inputs = [b.input_type for b in self.branches if b.stages]
        incoming = Any if self.kind == "merge" or not inputs else inputs[0]
        outputs = [b.output_type for b in self.branches]
        return StageTypes(input=incoming, output=self._combined(incoming, outputs), side={})

    def describe(self) -> str:
        count = len(self.branches)
        return f"{self.kind}, {count} branch{'es' if count != 1 else ''}" + (f", {self.rule}" if self.rule else "")

    def branch_path(self, index: int) -> str:
        return f"branch {self.labels[index]!r} ({index + 1} of {len(self.branches)}) of {self.kind} at {_short(self.defined_at)}"

    # -- composition -----------------------------------------------------------------------

    def flow_from(
        self, producer: Any, produced: Any, mode: TypecheckMode
    ) -> tuple[PipelineTypeError | None, Any, tuple[tuple[Junction, ...], ...]]:
        """Check ``produced`` into every branch; (this step's own mismatch, output type,
        branch flows). A mismatch inside a branch is reported there (raised in strict
        mode); the step's own is about how it chooses (a route's predicate, its types)."""
        flows: list[tuple[Junction, ...]] = []
        outputs: list[Any] = []
        own = self._own_mismatch(producer, produced) if producer is not None and mode != "off" else None
        if own is not None and mode == "strict":
            raise own  # how the route chooses comes before what its branches take
        for index, branch in enumerate(self.branches):
            if self.kind == "merge":
                flows.append(branch.junctions)
                outputs.append(branch.output_type)
                continue
            incoming = self._incoming(index, produced)
            try:
                flow = tuple(flow_through(branch.stages, incoming, producer, mode, where=self.branch_path(index)))
            except PipelineTypeError as error:
                raise error.located(self.branch_path(index)) from None
            flows.append(flow)
            outputs.append(flow[-1].produced)
        self._check_outputs(outputs)
        return own, self._combined(produced, outputs), tuple(flows)

    def _own_mismatch(self, producer: Any, produced: Any) -> PipelineTypeError | None:
        """A route whose predicate or key cannot take the items, or whose listed types
        leave some items with no branch (and no default)."""
        if self.kind != "route" or produced is NOTHING:
            return None
        if self.accepts is not None:
            param, expected = self.accepts
            check = check_fit(produced, expected)
            if check.verdict is Verdict.MISMATCH:
                return PipelineTypeError(
                    producer=producer, consumer=self, produced=produced, expected=expected,  # type: ignore[arg-type]
                    reason=check.reason, parameter=param,
                    hint=f"the route's {self.rule.removeprefix('by ')} is called with every item",
                )
        if self.rule == "by type" and not self.has_default:
            listed = [tp for tp in self.narrowed if tp is not None]
            members = typing.get_args(produced) if _is_union(produced) else (produced,)
            for member in members:
                if all(check_fit(member, tp).verdict is Verdict.MISMATCH for tp in listed):
                    return PipelineTypeError(
                        producer=producer, consumer=self, produced=produced, expected=union_of(listed),  # type: ignore[arg-type]
                        reason=f"items of type {type_repr(member)} are of none of the listed types",
                        parameter="item",
                        hint=f"add a ({type_repr(member)}, branch) pair, or default=... for the rest",
                    )
        return None

    def _incoming(self, index: int, produced: Any) -> Any:
        if self.kind != "route":
            return produced
        if index < len(self.narrowed) and self.narrowed[index] is not None:
            return self.narrowed[index]
        if self.narrows_rest and index == 1 and self.narrowed and self.narrowed[0] is not None:
            return _without(produced, self.narrowed[0])
        return produced

    def _check_outputs(self, outputs: Sequence[Any]) -> None:
        if self.kind != "fork":
            return
        for index, output in enumerate(outputs):
            if output is NOTHING:
                raise TypeError(
                    f"{self.branch_path(index)} ends in a sink, so it gives nothing to pair; "
                    f"use tee(...) for side branches whose outputs are not needed"
                )

    def _combined(self, incoming: Any, outputs: Sequence[Any]) -> Any:
        if self.kind == "tee":
            return incoming
        if self.kind == "fork":
            return tuple[tuple(outputs)]  # type: ignore[misc]  # a tuple type built at run time
        return union_of([o for o in outputs if o is not NOTHING])

    def __repr__(self) -> str:
        return f"<{self.kind} {', '.join(self.labels)} defined at {self.defined_at}>"


def _without(produced: Any, taken: Any) -> Any:
    """``A | B`` without the members that fit ``taken`` (what a TypeIs rules out)."""
    if not _is_union(produced):
        return produced
    rest = [m for m in typing.get_args(produced) if check_fit(m, taken).verdict is not Verdict.FITS]
    return union_of(rest) if rest else produced


def union_of(types: Sequence[Any]) -> Any:
    """``A | B`` without repeats; NOTHING for no type at all."""
    unique: list[Any] = []
    for tp in types:
        for member in typing.get_args(tp) if _is_union(tp) else (tp,):
            if not any(member == seen for seen in unique):
                unique.append(member)
    if not unique:
        return NOTHING
    if Any in unique:
        return Any
    return unique[0] if len(unique) == 1 else typing.Union[tuple(unique)]


def _is_union(tp: Any) -> bool:
    import types as _types

    return typing.get_origin(tp) in (typing.Union, _types.UnionType)


def _short(defined_at: str) -> str:
    path, _, line = defined_at.rpartition(":")
    return f"{path.rsplit('/', 1)[-1]}:{line}" if path else defined_at


# -- building combinators (called by the public functions) -----------------------------------


def caller_site(depth: int = 2) -> str:
    """``file:line`` of the user's call to fan(...) & co., for messages and diagrams."""
    frame = sys._getframe(depth)
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


def as_branch(kind: str, index: int, part: Any) -> Pipeline[Any, Any]:
    from conveyor.pipeline import Pipeline
    from conveyor.task import Task

    if isinstance(part, Task):
        return Pipeline.of(part)
    if isinstance(part, Pipeline):
        if not part.stages:
            raise TypeError(f"{kind}: branch {index + 1} is an empty pipeline")
        return part
    raise TypeError(
        f"{kind}: branch {index + 1} is {part!r}; a branch is a task made with @single_task / "
        f"@batch_task, or a pipeline of them"
    )


def label_of(branch: Pipeline[Any, Any]) -> str:
    return branch.name if len(branch.stages) == 1 else f"{branch.stages[0].name}..."


def distinct_labels(labels: list[str]) -> tuple[str, ...]:
    """Branch labels told apart: the same task twice is ``double`` and ``double (2)``, so
    diagrams, the outline, stats rows and failure notes never show two alike."""
    seen: dict[str, int] = {}
    distinct = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        distinct.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return tuple(distinct)


def check_branches(kind: str, branches: Sequence[Pipeline[Any, Any]], *, minimum: int = 1) -> None:
    if len(branches) < minimum:
        raise TypeError(f"{kind} needs at least {minimum} branch(es), got {len(branches)}")
    if kind == "merge":
        return
    for index, branch in enumerate(branches):
        if branch.is_source:
            raise TypeError(
                f"{kind}: branch {index + 1} starts with the source {branch.stages[0].name!r}, which "
                f"takes no items; to combine several sources into one stream use merge(...)"
            )


def narrowed_by_predicate(predicate: Callable[[Any], Any]) -> tuple[Any, bool]:
    """(``G``, is it ``TypeIs``) when the predicate is annotated ``-> TypeIs[G]`` or
    ``-> TypeGuard[G]``; (None, False) otherwise. Only TypeIs narrows the "no" side."""
    try:
        returns = typing.get_type_hints(predicate).get("return")
    except Exception:
        return None, False
    origin = typing.get_origin(returns)
    name = str(getattr(origin, "_name", None) or getattr(origin, "__name__", None) or repr(origin))
    for form in ("TypeIs", "TypeGuard"):
        if name == form or name.endswith(f".{form}"):
            args = typing.get_args(returns)
            return (args[0] if args else None), form == "TypeIs"
    return None, False


def first_parameter(function: Callable[..., Any]) -> tuple[str, Any] | None:
    """(name, annotation) of the parameter a predicate or key takes, when annotated."""
    try:
        parameters = list(inspect.signature(function).parameters.values())
        hints = typing.get_type_hints(function)
    except Exception:  # a builtin, or an annotation that does not resolve: nothing to check
        return None
    if not parameters or parameters[0].name not in hints:
        return None
    return parameters[0].name, hints[parameters[0].name]


def check_predicate(kind: str, predicate: object) -> None:
    if not callable(predicate):
        raise TypeError(f"{kind}: the predicate must be a callable taking an item, got {predicate!r}")
    if inspect.iscoroutinefunction(predicate):
        raise TypeError(
            f"{kind}: the predicate {getattr(predicate, '__name__', predicate)!r} is async; routing "
            f"decisions are made inline and must be plain functions (do the async work in a task before)"
        )


