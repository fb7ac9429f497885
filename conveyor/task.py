"""Tasks: immutable descriptions of one pipeline stage.

A task bundles the user's function (behind an :class:`~conveyor.invoke.Invoker`),
its name, its error policy, its concurrency limit and its bound side inputs. Every
"change" (binding side inputs, binding a method's instance) returns a new task.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from difflib import get_close_matches
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, Self, TypeVar

from conveyor.invoke import Invoker
from conveyor.policy import ErrorPolicy
from conveyor.side_inputs import OnceAwaitable, SideInput, SideInputKind
from conveyor.signature import TaskSignature, analyse, wants_all_items
from conveyor.stage_types import StageTypes, stage_types

if TYPE_CHECKING:
    from conveyor.pipeline import Pipeline
    from conveyor.stream import Stream

__all__ = ["Task", "SingleTask", "BatchTask", "TaskKind", "NO_DATA"]

In = TypeVar("In", contravariant=True)
Out = TypeVar("Out", covariant=True)
R = TypeVar("R")

TaskKind = Literal["single", "batch"]


class _NoData:
    """Marks a call without input data (a pipeline that starts with a source task)."""

    _instance: ClassVar[_NoData | None] = None

    def __new__(cls) -> _NoData:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NO_DATA"


NO_DATA: Any = _NoData()


@dataclass(frozen=True, eq=False, slots=True)
class Task(Generic[In, Out]):
    """One stage of a pipeline. Build tasks with ``@single_task`` / ``@batch_task``."""

    invoker: Invoker
    name: str
    policy: ErrorPolicy
    concurrency_limit: int | None
    signature: TaskSignature
    declared_types: StageTypes  # what flows in and out, read when the task was made
    defined_at: str  # "file:line" of the user's function, for error messages
    side_inputs: Mapping[str, SideInput] = field(default_factory=dict)

    kind: ClassVar[TaskKind]

    # -- composition -----------------------------------------------------------------

    def __or__(self, other: Task[Any, R] | Pipeline[Any, R]) -> Pipeline[In, R]:
        from conveyor.pipeline import Pipeline

        if not isinstance(other, (Task, Pipeline)):
            return NotImplemented
        return Pipeline.of(self) | other

    def __call__(self, data: Iterable[Any] | AsyncIterable[Any] = NO_DATA, **run_options: Any) -> Stream[Out]:
        """Run this task alone over ``data`` and stream results in input order."""
        from conveyor.pipeline import Pipeline

        pipeline: Pipeline[In, Out] = Pipeline.of(self)
        return pipeline(data, **run_options)

    def as_completed(self, data: Iterable[Any] | AsyncIterable[Any] = NO_DATA, **run_options: Any) -> Stream[Out]:
        """Run this task alone over ``data`` and stream results as they complete."""
        from conveyor.pipeline import Pipeline

        pipeline: Pipeline[In, Out] = Pipeline.of(self)
        return pipeline.as_completed(data, **run_options)

    # -- side inputs -------------------------------------------------------------------

    def with_inputs(self, *args: Any, **kwargs: Any) -> Self:
        """A new task with side inputs bound; this task stays as it was.

        Positional values fill the side-input parameters in order; keywords name them.
        Each value may be a plain value, an awaitable, a source pipeline or a Stream.
        """
        params = self.signature.side
        if len(args) > len(params):
            raise TypeError(
                f"task {self.name!r} takes {len(params)} side input(s) "
                f"({', '.join(p.name for p in params) or 'none'}) but {len(args)} were given positionally"
            )
        named = {p.name: value for p, value in zip(params, args)}
        for key, value in kwargs.items():
            if key in named:
                raise TypeError(f"task {self.name!r}: side input {key!r} given twice")
            if self.signature.side_param(key) is None and not self.signature.accepts_var_keywords:
                raise TypeError(self._unknown_side_input_message(key))
            named[key] = value
        bound = dict(self.side_inputs)
        for key, value in named.items():
            param = self.signature.side_param(key)
            annotation = param.annotation if param is not None else Any
            bound[key] = _classify_side_input(self, key, value, annotation)
        return replace(self, side_inputs=bound)

    def _unknown_side_input_message(self, key: str) -> str:
        names = [p.name for p in self.signature.side]
        message = f"task {self.name!r} has no side-input parameter {key!r}"
        close = get_close_matches(key, names, n=1)
        if close:
            return f"{message}; did you mean {close[0]!r}?"
        return f"{message}; its side inputs are: {', '.join(names) or 'none'}"

    @property
    def unbound_side_inputs(self) -> tuple[str, ...]:
        """Required side-input parameters that have no value bound yet."""
        return tuple(p.name for p in self.signature.required_side if p.name not in self.side_inputs)

    # -- methods ---------------------------------------------------------------------------

    def __get__(self, instance: object, owner: type | None = None) -> Self:
        """Tasks declared in a class body bind to the instance, like methods."""
        if instance is None:
            return self
        signature = self.signature.bound()
        types = stage_types(signature, batch=self.kind == "batch", shape=self.invoker.shape)
        return replace(self, invoker=self.invoker.bind_instance(instance), signature=signature, declared_types=types)

    @property
    def types(self) -> StageTypes:
        """What flows in and out. Annotations that named something not yet defined
        when the task was made (a class further down the module) are tried again."""
        namespace = self.signature.retry_namespace
        if namespace is None:
            return self.declared_types
        fresh = analyse(self.invoker.fn, namespace)  # a bound method's signature has no self
        return stage_types(fresh, batch=self.kind == "batch", shape=self.invoker.shape)

    @property
    def is_source(self) -> bool:
        return self.signature.is_source

    def describe(self) -> str:
        """Options in short form, for reprs, diagrams and outlines."""
        parts: list[str] = [self.kind]
        if self.concurrency_limit is not None:
            parts.append(f"concurrency={self.concurrency_limit}")
        if self.policy.on_error != "fail":
            parts.append(f"on_error={self.policy.on_error}")
        if self.policy.retry.attempts > 1:
            parts.append(f"attempts={self.policy.retry.attempts}")
        return ", ".join(parts)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} ({self.describe()}) defined at {self.defined_at}>"


@dataclass(frozen=True, eq=False, slots=True, repr=False)
class SingleTask(Task[In, Out]):
    """A stage that calls its function once per item, many items concurrently."""

    kind: ClassVar[TaskKind] = "single"


@dataclass(frozen=True, eq=False, slots=True, repr=False)
class BatchTask(Task[In, Out]):
    """A stage that calls its function with lists of items."""

    min_size: int = 1
    max_size: int | None = None
    max_wait: float | None = None

    kind: ClassVar[TaskKind] = "batch"

    def describe(self) -> str:
        size = f"batch {self.min_size}..{self.max_size if self.max_size is not None else 'all'}"
        if self.max_wait is not None:
            size += f", max_wait={self.max_wait:g}s"
        rest = Task.describe(self).removeprefix("batch")
        return size + rest


def _classify_side_input(task: Task[Any, Any], param: str, value: Any, annotation: Any) -> SideInput:
    from conveyor.pipeline import Pipeline
    from conveyor.stream import Stream
    from conveyor.typecheck import check_side_input_flow, check_side_input_value

    task_name = task.name
    all_items = wants_all_items(annotation)
    if isinstance(value, Task):
        value = Pipeline.of(value)
    if isinstance(value, Pipeline):
        if not value.is_source:
            raise TypeError(
                f"task {task_name!r}: side input {param!r} is a pipeline that needs input data; "
                f"pass a pipeline that starts with a source task, or a Stream such as pipeline(data)"
            )
        check_side_input_flow(task, param, value.output_type, annotation, all_items)
        return SideInput(param, SideInputKind.PIPELINE, value, all_items, annotation)
    if isinstance(value, Stream):
        check_side_input_flow(task, param, value.pipeline.output_type, annotation, all_items)
        return SideInput(param, SideInputKind.STREAM, value, all_items, annotation)
    if inspect.isawaitable(value):  # checked when resolved, once its value exists
        return SideInput(param, SideInputKind.AWAITABLE, OnceAwaitable(value), False, annotation)
    check_side_input_value(task, param, value, annotation)
    return SideInput(param, SideInputKind.VALUE, value, False, annotation)
