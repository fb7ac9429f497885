"""Pipelines: an immutable chain of tasks, and the door from the model into the runtime.

``a | b`` composes; calling a pipeline with data returns a ``Stream``.
Composing never mutates an operand, and one pipeline can run many times, also at once.

Static typing: ``Pipeline[In, Out]`` takes ``In`` items and emits ``Out`` items (input
contravariant, output covariant); ``|`` and ``add`` accept only stages whose input
fits the output before them (see ``conveyor.task`` for the phantom members).
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Generic, NoReturn, TypeVar, overload

from conveyor.combinators import Combinator
from conveyor.graph import build_graph, check_structure
from conveyor.options import check_count, check_flag
from conveyor.policy import short_repr
from conveyor.runtime.checks import CheckItems, resolve_mode
from conveyor.runtime.limits import DEFAULT_MAX_IN_FLIGHT, RunOptions
from conveyor.runtime.stats import RunStats
from conveyor.side_inputs import ItemsSideInput
from conveyor.stage_types import NOTHING
from conveyor.task import NO_DATA, Task, not_a_stage_message
from conveyor.typecheck import Junction, TypecheckMode, default_mode, flow_through, validate_mode

if TYPE_CHECKING:
    from pathlib import Path
    from typing import Never

    import networkx as nx

    from conveyor.dead_letters import Failed
    from conveyor.stream import Stream
    from conveyor.task import Source, _Producer, _Stage

__all__ = ["Pipeline", "Step"]

#: One step of a pipeline: a task, or a branching step (fan, fork, route, tee, merge).
Step = Task[Any, Any] | Combinator

In = TypeVar("In", contravariant=True)
Out = TypeVar("Out", covariant=True)
R = TypeVar("R")
# The items on the edges of a chain given to add(): _I in, then _A, _B, ... out.
_I = TypeVar("_I")
_A = TypeVar("_A")
_B = TypeVar("_B")
_C = TypeVar("_C")
_D = TypeVar("_D")
_E = TypeVar("_E")
_F = TypeVar("_F")
_G = TypeVar("_G")


class Pipeline(Generic[In, Out]):
    """A chain of tasks. Build one with ``task_a | task_b`` or ``Pipeline().add(a, b)``.

    Composition checks each junction's types (see ``conveyor.typecheck``);
    ``typecheck`` chooses what a mismatch does when this pipeline is composed further:
    "strict" (raise), "lax" (warn) or "off"; by default $CONVEYOR_TYPECHECK or strict.
    """

    __slots__ = ("_stages", "_junctions", "_mode", "_graph")

    if TYPE_CHECKING:
        # Phantom members, as on Task: a pipeline is "a callable from In to Out".
        @property
        def __conveyor_stage__(self) -> Callable[[In], Out]:
            raise NotImplementedError

        @property
        def __conveyor_out__(self) -> Out:
            raise NotImplementedError

        @property
        def __conveyor_takes__(self) -> In:  # type: ignore[misc]  # covariantly: see Task
            raise NotImplementedError

    def __init__(
        self: Pipeline[Any, Any], stages: Iterable[Step] = (), *, typecheck: TypecheckMode | None = None
    ) -> None:
        self._mode: TypecheckMode | None = None if typecheck is None else validate_mode(typecheck)
        self._stages: tuple[Step, ...] = ()
        self._junctions: tuple[Junction, ...] = (Junction(Any),)
        self._graph: nx.DiGraph | None = None
        composed = self._extended(tuple(stages))
        self._stages, self._junctions = composed._stages, composed._junctions

    @classmethod
    def of(cls, task: Task[In, Out]) -> Pipeline[In, Out]:
        return cls((task,))

    def _extended(self, more: tuple[Step, ...]) -> Pipeline[Any, Any]:
        """This pipeline with ``more`` appended: only the new junctions are checked."""
        for stage in more:
            if not isinstance(stage, (Task, Combinator)):
                raise TypeError(not_a_stage_message(stage, "a pipeline"))
            if isinstance(stage, Task):
                stage.check_runnable()
            _check_bound(stage)
        stages = self._stages + more
        check_structure(stages, start=max(len(self._stages) - 1, 0))
        producer = self._stages[-1] if self._stages else None
        flow = flow_through(more, self._incoming(more), producer, self.mode)
        result: Pipeline[Any, Any] = object.__new__(Pipeline)
        result._stages = stages
        result._junctions = self._junctions[:-1] + tuple(flow)
        result._mode = self._mode
        result._graph = None
        return result

    def _incoming(self, more: tuple[Step, ...]) -> Any:
        """The type flowing into ``more``: our output, or for a new pipeline what its
        first stage declares (nothing flows into a source)."""
        if self._stages or not more:
            return self._junctions[-1].produced
        return NOTHING if more[0].is_source else more[0].types.input

    @property
    def stages(self) -> tuple[Step, ...]:
        """The top-level steps: tasks, and branching steps whose branches hold more."""
        return self._stages

    def tasks(self, *, dead_letters: bool = True) -> list[tuple[tuple[str, ...], Task[Any, Any] | Combinator]]:
        """Every step, branches included, depth first, each with its path (the
        branches it sits in), then the steps of each dead-letter branch (once, however
        many tasks share it; ``dead_letters=False`` leaves them out). The runtime's
        per-stage figures follow this order."""
        found: list[tuple[tuple[str, ...], Task[Any, Any] | Combinator]] = []
        _walk(self, (), found)
        if dead_letters:
            from conveyor.dead_letters import dead_letter_branches, dead_letter_path

            for branch in dead_letter_branches(self):
                _walk(branch, (dead_letter_path(branch),), found)
        return found

    @property
    def mode(self) -> TypecheckMode:
        """The type-check mode used when this pipeline is composed further."""
        return self._mode if self._mode is not None else default_mode()

    @property
    def junctions(self) -> tuple[Junction, ...]:
        """The item edges in order: into each stage, then out of the last one."""
        return self._junctions

    @property
    def output_type(self) -> Any:
        """The type of the items this pipeline produces (``NOTHING`` for a sink)."""
        return self._junctions[-1].produced

    @property
    def input_type(self) -> Any:
        """The type of the items this pipeline takes (Any for an empty one)."""
        return self._stages[0].types.input if self._stages else Any

    @property
    def graph(self) -> nx.DiGraph:
        """The topology (source, stages, side inputs, sink); built once, then cached."""
        if self._graph is None:
            self._graph = build_graph(self._stages, self._junctions)
        return self._graph

    @property
    def is_source(self) -> bool:
        """True when the first stage produces the stream itself (call it without data)."""
        return bool(self._stages) and self._stages[0].is_source

    @property
    def name(self) -> str:
        return " | ".join(stage.name for stage in self._stages) or "empty pipeline"

    # -- composition -------------------------------------------------------------------

    # Up to six stages are checked junction by junction, like ``|``; more are accepted
    # unchecked by plain typing (the mypy plugin checks any number).
    @overload
    def add(self) -> Pipeline[In, Out]: ...
    @overload
    def add(self: _Producer[_I, _A], s1: _Stage[_A, _B], /) -> Pipeline[_I, _B]: ...
    @overload
    def add(self: _Producer[_I, _A], s1: _Producer[_A, _B], s2: _Stage[_B, _C], /) -> Pipeline[_I, _C]: ...
    @overload
    def add(
        self: _Producer[_I, _A], s1: _Producer[_A, _B], s2: _Producer[_B, _C], s3: _Stage[_C, _D], /
    ) -> Pipeline[_I, _D]: ...
    @overload
    def add(
        self: _Producer[_I, _A],
        s1: _Producer[_A, _B],
        s2: _Producer[_B, _C],
        s3: _Producer[_C, _D],
        s4: _Stage[_D, _E],
        /,
    ) -> Pipeline[_I, _E]: ...
    @overload
    def add(
        self: _Producer[_I, _A],
        s1: _Producer[_A, _B],
        s2: _Producer[_B, _C],
        s3: _Producer[_C, _D],
        s4: _Producer[_D, _E],
        s5: _Stage[_E, _F],
        /,
    ) -> Pipeline[_I, _F]: ...
    @overload
    def add(
        self: _Producer[_I, _A],
        s1: _Producer[_A, _B],
        s2: _Producer[_B, _C],
        s3: _Producer[_C, _D],
        s4: _Producer[_D, _E],
        s5: _Producer[_E, _F],
        s6: _Stage[_F, _G],
        /,
    ) -> Pipeline[_I, _G]: ...
    @overload
    def add(
        self,
        s1: Task[Any, Any] | Pipeline[Any, Any],
        s2: Task[Any, Any] | Pipeline[Any, Any],
        s3: Task[Any, Any] | Pipeline[Any, Any],
        s4: Task[Any, Any] | Pipeline[Any, Any],
        s5: Task[Any, Any] | Pipeline[Any, Any],
        s6: Task[Any, Any] | Pipeline[Any, Any],
        s7: Task[Any, Any] | Pipeline[Any, Any],
        /,
        *more: Task[Any, Any] | Pipeline[Any, Any],
    ) -> Pipeline[Any, Any]: ...

    def add(self, *tasks: Any) -> Pipeline[Any, Any]:
        """A new pipeline with ``tasks`` appended (the conveyor-streaming spelling of ``|``)."""
        result: Pipeline[Any, Any] = self
        for task in tasks:
            result = result._extended(_stages_of(task))
        return result

    @overload
    def __or__(self: _Producer[_I, _A], other: _Stage[_A, R]) -> Pipeline[_I, R]: ...
    @overload
    def __or__(self, other: Never) -> Pipeline[Any, Any]: ...  # pyright: ignore[reportOverlappingOverload]  # see Task

    def __or__(self, other: object) -> Pipeline[Any, Any]:
        if not isinstance(other, (Task, Pipeline)):
            raise TypeError(not_a_stage_message(other, f"<Pipeline {self.name}> | ..."))
        return self._extended(_stages_of(other))

    if not TYPE_CHECKING:  # run time only, as Task.__ror__

        def __ror__(self, other: object) -> NoReturn:
            raise TypeError(not_a_stage_message(other, f"... | <Pipeline {self.name}>"))

    # -- dead letters --------------------------------------------------------------------

    def with_dead_letters(self, branch: _Stage[Failed[Any], Any]) -> Pipeline[In, Out]:
        """This pipeline with ``branch`` as the dead-letter branch of every task that has
        none of its own (branching steps' tasks included): a task's own branch wins.
        Checked per task, as ``task.with_dead_letters`` is; tasks composed onto the
        result afterwards are not covered, so call it on the finished pipeline."""
        from conveyor.dead_letters import attach_to_all

        return attach_to_all(self, branch)

    # -- running -----------------------------------------------------------------------

    # A source runs without data; any other pipeline needs it (also statically).
    @overload
    def __call__(
        self: Source[_A],
        *,
        max_in_flight: int | None = DEFAULT_MAX_IN_FLIGHT,
        check_items: CheckItems | None = None,
        progress: bool = False,
    ) -> Stream[_A]: ...
    @overload
    def __call__(
        self,
        data: Iterable[In] | AsyncIterable[In],
        *,
        max_in_flight: int | None = DEFAULT_MAX_IN_FLIGHT,
        check_items: CheckItems | None = None,
        progress: bool = False,
    ) -> Stream[Out]: ...

    def __call__(
        self,
        data: Iterable[In] | AsyncIterable[In] = NO_DATA,
        *,
        max_in_flight: int | None = DEFAULT_MAX_IN_FLIGHT,
        check_items: CheckItems | None = None,
        progress: bool = False,
    ) -> Stream[Any]:
        """Stream the results for ``data`` in input order.

        ``max_in_flight`` bounds how many items each stage holds at once (running, or
        finished and waiting for their turn); ``None`` removes the bound.
        ``check_items`` ("off", "sample", "all"; default $CONVEYOR_CHECK_ITEMS or off)
        checks items against the types on the pipeline's edges with typeguard.
        ``progress=True`` shows live per-stage counts on stderr while the run works
        (on a terminal or in a notebook, quiet elsewhere; see ``conveyor.progress``).
        """
        return self._stream(data, ordered=True, max_in_flight=max_in_flight, check_items=check_items, progress=progress)

    @overload
    def as_completed(
        self: Source[_A],
        *,
        max_in_flight: int | None = DEFAULT_MAX_IN_FLIGHT,
        check_items: CheckItems | None = None,
        progress: bool = False,
    ) -> Stream[_A]: ...
    @overload
    def as_completed(
        self,
        data: Iterable[In] | AsyncIterable[In],
        *,
        max_in_flight: int | None = DEFAULT_MAX_IN_FLIGHT,
        check_items: CheckItems | None = None,
        progress: bool = False,
    ) -> Stream[Out]: ...

    def as_completed(
        self,
        data: Iterable[In] | AsyncIterable[In] = NO_DATA,
        *,
        max_in_flight: int | None = DEFAULT_MAX_IN_FLIGHT,
        check_items: CheckItems | None = None,
        progress: bool = False,
    ) -> Stream[Any]:
        """Stream the results for ``data`` as soon as each is ready (completion order)."""
        return self._stream(data, ordered=False, max_in_flight=max_in_flight, check_items=check_items, progress=progress)

    def _stream(
        self, data: Any, *, ordered: bool, max_in_flight: int | None, check_items: CheckItems | None, progress: bool
    ) -> Stream[Out]:
        self._check_runnable(data)
        owner = f"pipeline {self.name!r}"
        options = RunOptions(
            ordered=ordered,
            max_in_flight=check_count(owner, "max_in_flight", max_in_flight, minimum=1, optional=True),
            check_items=resolve_mode(check_items, owner),
            progress=check_flag(owner, "progress", progress),
        )
        from conveyor.stream import Stream  # the runtime (and asyncio) is loaded with the first run

        return Stream(self, data, options)

    def _check_runnable(self, data: Any) -> None:
        """Everything that can be known before the first item: fail now, not mid-stream."""
        if data is NO_DATA:
            if not self.is_source:
                first = self._stages[0].name if self._stages else "this pipeline"
                raise TypeError(f"{first!r} expects input data: call it with an iterable or async iterable of items")
            return
        if self.is_source:
            source = self._stages[0]
            raise TypeError(
                f"task {source.name!r} is a source (it takes no item parameter) and produces "
                f"its own items; call the pipeline without data{_keyword_only_hint(source)}"
            )
        if isinstance(data, (str, bytes, bytearray)):
            raise TypeError(
                f"pipeline {self.name!r}: pipeline data must be an iterable of items, got a "
                f"{type(data).__name__}; a {type(data).__name__} would be split into characters, so wrap it: [data]"
            )
        if not isinstance(data, (Iterable, AsyncIterable)) and inspect.isawaitable(data):
            _close_if_coroutine(data)  # ours to drop: no "never awaited" warning on top of this error
            raise TypeError(
                f"pipeline {self.name!r} got {short_repr(data)} as its data, an awaitable and not "
                f"an iterable of items: did you forget to await? pass (await ...) as the data"
            )
        if not isinstance(data, (Iterable, AsyncIterable)):
            raise TypeError(
                f"pipeline {self.name!r}: pipeline data must be an iterable or async iterable of items, "
                f"got {short_repr(data)} ({type(data).__name__})"
            )

    # -- as a side input ------------------------------------------------------------------

    def as_list(self: Source[_A]) -> list[_A]:
        """This source pipeline as a side input that receives all of its items, run once
        per run: ``task.with_inputs(names=pipeline.as_list())``. Typed ``list[T]`` so that
        every type checker compares it with the parameter (see ``conveyor.side``)."""
        return ItemsSideInput(self, f"{_spelled(self)}.as_list()", all_items=True)  # type: ignore[return-value]

    def as_single(self: Source[_A]) -> _A:
        """This source pipeline as a side input that receives its one item (any other
        number of items fails the run), run once per run. Typed as the item."""
        return ItemsSideInput(self, f"{_spelled(self)}.as_single()", all_items=False)  # type: ignore[return-value]

    def __repr__(self) -> str:
        return f"<Pipeline {self.name}>"

    # -- drawing (conveyor.render is imported only when one of these is used) ----------------

    def to_graphviz(self, *, stats: RunStats | None = None) -> Any:
        """The diagram as a ``graphviz.Digraph``; ``stats`` (``stream.stats``) adds each task's figures."""
        from conveyor.render import to_graphviz

        return to_graphviz(self, stats=stats)

    def to_dot(self, *, stats: RunStats | None = None) -> str:
        """The diagram's DOT source (works without Graphviz installed)."""
        from conveyor.render import to_dot

        return to_dot(self, stats=stats)

    def render(self, path: str | Path, *, format: str | None = None, stats: RunStats | None = None) -> Path:
        """Write the diagram to ``path`` (svg, png or pdf, from the suffix unless ``format``)."""
        from conveyor.render import render

        return render(self, path, format=format, stats=stats)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        """Jupyter shows the diagram (SVG), or only the repr when Graphviz is missing."""
        from conveyor.render import mimebundle

        return mimebundle(self, include, exclude)

    def outline(self) -> str:
        """A plain-text outline: one line per stage with kind, options and types."""
        from conveyor.render import outline

        return outline(self)


def _close_if_coroutine(value: object) -> None:
    if inspect.iscoroutine(value):
        value.close()


def _walk(pipeline: Pipeline[Any, Any], path: tuple[str, ...], found: list[tuple[tuple[str, ...], Step]]) -> None:
    for step in pipeline.stages:
        found.append((path, step))
        if isinstance(step, Combinator):
            for index, branch in enumerate(step.branches):
                _walk(branch, (*path, step.branch_path(index)), found)


def _keyword_only_hint(stage: Step) -> str:
    return stage.keyword_only_hint() if isinstance(stage, Task) else ""


def _check_bound(stage: Step) -> None:
    """A pipeline can never bind side inputs later, so an unbound one is an error now."""
    missing = stage.unbound_side_inputs
    if missing:
        raise TypeError(
            f"task {stage.name!r} (defined at {stage.defined_at}) needs side input(s) "
            f"{', '.join(map(repr, missing))}; bind them first with {stage.name}.with_inputs("
            f"{', '.join(f'{m}=...' for m in missing)}){_keyword_only_hint(stage)}"
        )


def _stages_of(part: Task[Any, Any] | Pipeline[Any, Any] | Sequence[Task[Any, Any]]) -> tuple[Step, ...]:
    if isinstance(part, Pipeline):
        return part.stages
    if isinstance(part, Task):
        return (part,)
    raise TypeError(not_a_stage_message(part, "Pipeline.add(...)"))


def _spelled(pipeline: object) -> str:
    """A pipeline's name as the receiver of a method call in a message: ``(a | b)``."""
    name = str(getattr(pipeline, "name", "pipeline"))
    return f"({name})" if " | " in name else name
