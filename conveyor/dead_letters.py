"""Dead letters (the model): ``Failed[In]``, the record of one final failure, and
giving tasks the branch their final failures go to. Nothing here runs.

A dead-letter branch is a branch like a ``tee`` side branch: a sink task, or a
pipeline starting with a task that takes ``Failed[In]`` records. It is attached to a
task with ``task.with_dead_letters(branch)``, or to every task of a pipeline with
``pipeline.with_dead_letters(branch)`` (a task's own branch wins). The composition
check here makes a branch that cannot take ``Failed[In]`` a ``PipelineTypeError``
naming the task and the branch. ``runtime/dead_letters.py`` runs the branches.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from conveyor.errors import PipelineTypeError, _short_place
from conveyor.typerules import Verdict, check_fit, type_repr

if TYPE_CHECKING:
    from conveyor.combinators import Combinator
    from conveyor.pipeline import Pipeline
    from conveyor.task import Task

__all__ = [
    "Failed", "DeadLetterTypeError", "attach", "attach_to_all", "branch_key", "dead_letter_branches", "dead_letter_path",
]

In = TypeVar("In", covariant=True)


@dataclass(frozen=True, slots=True, eq=False)
class Failed(Generic[In]):
    """One item a task gave up on: after its retries and its error handler.

    ``item`` is the input item the call failed on. A failed batch is dead-lettered
    item by item: each of its items gets its own record (``item``), with the whole
    batch in ``batch`` and the batch's one exception; so a branch for a batch task
    takes ``Failed[Row]`` like one for a single task, and every input item is counted
    exactly once, delivered or dead-lettered. ``error`` is the last attempt's
    exception, with conveyor's notes (``error.__notes__``, also ``notes``);
    ``attempts`` the number of calls made; ``failed_at`` when the task gave up
    (timezone-aware, UTC); ``path`` the branch the task sits in ("" on the main line).
    """

    item: In
    error: Exception
    task: str
    attempts: int
    failed_at: datetime
    batch: tuple[In, ...] | None = None
    path: str = ""

    @property
    def notes(self) -> tuple[str, ...]:
        """The exception's notes (conveyor's context first, then any of the user's)."""
        return tuple(getattr(self.error, "__notes__", ()))

    def __repr__(self) -> str:
        from conveyor.policy import short_repr

        return (
            f"Failed(item={short_repr(self.item)}, error={self.error!r}, task={self.task!r}, "
            f"attempts={self.attempts}, failed_at={self.failed_at.isoformat()})"
        )


class DeadLetterTypeError(PipelineTypeError):
    """A dead-letter branch that cannot take the ``Failed[In]`` records of its task."""

    branch: str = ""

    def _message(self) -> str:
        producer = self.producer
        assert producer is not None
        first = (
            f"dead-letter branch mismatch: task {producer.name!r} ({_short_place(producer.defined_at)}) "
            f"sends {type_repr(self.produced)} records but {self.consumer.name!r} "
            f"({_short_place(self.consumer.defined_at)}) expects {type_repr(self.expected)} "
            f"for parameter {self.parameter!r}"
        )
        rest = PipelineTypeError._message(self).split("\n")[1:]
        return "\n".join([first, *rest])


def attach(task: Task[Any, Any], branch: object) -> Task[Any, Any]:
    """``task`` with ``branch`` as its dead-letter branch (checked: see the module doc)."""
    pipeline = _as_branch(task, branch)
    check_branch(task, pipeline)
    return replace(task, dead_letters=pipeline)


def attach_to_all(pipeline: Pipeline[Any, Any], branch: object) -> Pipeline[Any, Any]:
    """``pipeline`` with ``branch`` for every task that has none of its own, inside
    branching steps too (not inside other dead-letter branches: their failures fail
    the run). Tasks composed onto the result later are not covered."""
    from conveyor.pipeline import Pipeline
    from conveyor.task import Task

    if not pipeline.stages:
        raise TypeError("with_dead_letters: the pipeline is empty; it has no task to give dead letters")
    first = next((s for s in pipeline.stages if isinstance(s, Task) and not s.is_source), None)
    checked = _as_branch(first if first is not None else pipeline.stages[0], branch)
    steps = tuple(_with_default(step, checked) for step in pipeline.stages)
    return Pipeline(steps, typecheck=pipeline._mode)


def _with_default(step: Task[Any, Any] | Combinator, branch: Pipeline[Any, Any]) -> Any:
    from conveyor.pipeline import Pipeline
    from conveyor.task import Task

    if isinstance(step, Task):
        if step.dead_letters is not None or step.is_source:
            return step  # a task's own branch wins; a source's failure is the stream's
        return attach(step, branch)
    if step.kind == "merge":
        branches = tuple(b if not b.stages else attach_to_all(b, branch) for b in step.branches)
    else:
        branches = tuple(Pipeline(tuple(_with_default(s, branch) for s in b.stages), typecheck=b._mode)
                         for b in step.branches)
    return replace(step, branches=branches)


def _as_branch(task: Any, branch: object) -> Pipeline[Any, Any]:
    from conveyor.pipeline import Pipeline
    from conveyor.task import Task

    name = getattr(task, "name", "pipeline")
    if isinstance(branch, Task):
        branch = Pipeline.of(branch)
    if not isinstance(branch, Pipeline):
        raise TypeError(
            f"task {name!r}: with_dead_letters takes a task or a pipeline that takes Failed[...] "
            f"records (a sink such as a task writing rejects to a file), got {branch!r}"
        )
    if not branch.stages:
        raise TypeError(f"task {name!r}: the dead-letter branch is an empty pipeline")
    if branch.is_source:
        raise TypeError(
            f"task {name!r}: the dead-letter branch starts with the source {branch.stages[0].name!r}, "
            f"which takes no items; it must take Failed[...] records"
        )
    inner = [t.name for _, t in branch.tasks() if isinstance(t, Task) and t.dead_letters is not None]
    if inner:
        raise TypeError(
            f"task {name!r}: task {inner[0]!r} of the dead-letter branch has a dead-letter branch of its "
            f"own; a failure inside a dead-letter branch fails the run (nothing is lost silently)"
        )
    return branch


def check_branch(task: Task[Any, Any], branch: Pipeline[Any, Any]) -> None:
    """A branch whose input cannot take ``Failed[In]`` of ``task`` is a PipelineTypeError."""
    from conveyor.typecheck import default_mode

    if task.is_source:
        raise TypeError(
            f"task {task.name!r} is a source: its failure is the stream's own and always fails the run, "
            f"so it takes no dead-letter branch"
        )
    mode = branch.mode if branch._mode is not None else default_mode()
    if mode == "off":
        return
    records = Failed[task.types.input]  # type: ignore[name-defined]  # a generic alias built at run time
    consumer = branch.stages[0]
    expected = consumer.types.input
    verdict = check_fit(records, expected)
    if verdict.verdict is not Verdict.MISMATCH:
        return
    error = DeadLetterTypeError(
        producer=task, consumer=consumer, produced=records, expected=expected,  # type: ignore[arg-type]
        reason=verdict.reason,
        hint=f"give task {task.name!r} a branch whose first task takes {type_repr(records)} (or Failed[Any])",
    )
    error.branch = branch.name
    error.located(f"dead-letter branch {branch.name!r} of task {task.name!r}")
    if mode == "strict":
        raise error
    import warnings

    from conveyor.errors import PipelineTypeWarning

    warnings.warn(str(error), PipelineTypeWarning, stacklevel=4)


def dead_letter_branches(pipeline: Pipeline[Any, Any]) -> list[Pipeline[Any, Any]]:
    """The distinct dead-letter branches of ``pipeline``'s tasks (branches included),
    in first-use order: each runs once per run, whichever tasks share it."""
    from conveyor.task import Task

    found: dict[tuple[int, ...], Pipeline[Any, Any]] = {}
    for _, step in pipeline.tasks(dead_letters=False):
        if isinstance(step, Task) and step.dead_letters is not None:
            found.setdefault(branch_key(step.dead_letters), step.dead_letters)
    return list(found.values())


def branch_key(branch: Pipeline[Any, Any]) -> tuple[int, ...]:
    """What makes two tasks' branches one: the same steps (the same objects). A sink task
    given to several tasks is wrapped in a new pipeline each time, and stays one branch."""
    return tuple(id(step) for step in branch.stages)


def dead_letter_path(branch: Pipeline[Any, Any]) -> str:
    """How failure notes and the figures name a dead-letter branch's place."""
    return f"dead letters {branch.name!r}"
