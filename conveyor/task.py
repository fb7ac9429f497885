"""Tasks: immutable descriptions of one pipeline stage.

A task bundles the user's function (behind an ``Invoker``),
its name, its error policy, its concurrency limit and its bound side inputs. Every
"change" (binding side inputs, binding a method's instance) returns a new task.

Static typing: ``Task[In, Out, P]`` carries the item type it takes, the item type it
emits and its side-input parameters (a ParamSpec; ``Task[In, Out]`` means "any side
inputs"). A sink's output type is ``NoOutput``; a source's input type is
``Never``. Type checkers read the phantom members declared under ``TYPE_CHECKING``
(never present at run time) to reject a bad ``|``, a call or a pipe with unbound
required side inputs, and to bind decorated methods. docs/static-checking.md has
the details; the mypy plugin (``conveyor_mypy``) adds what plain typing cannot say.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterable, Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from difflib import get_close_matches
from typing import TYPE_CHECKING, Any, ClassVar, Concatenate, Generic, Literal, NoReturn, Protocol, Self, TypeVar, overload

from typing_extensions import ParamSpec  # PEP 696 default (``Task[In, Out]``), also at run time

from conveyor.concurrency import ConcurrencyGate
from conveyor.executors import ExecutorSpec, executor_label, is_inline
from conveyor.invoke import Invoker
from conveyor.policy import ErrorPolicy, short_repr
from conveyor.rate_limit import RateLimiter
from conveyor.side_inputs import AwaitedSideInput, DeferredSideInput, ItemsSideInput, OnceAwaitable, SideInput, SideInputKind
from conveyor.signature import TaskSignature, analyse, wants_all_items
from conveyor.stage_types import StageTypes, stage_types

if TYPE_CHECKING:
    from typing import Never, TypedDict, Unpack, final

    from conveyor.dead_letters import Failed
    from conveyor.pipeline import Pipeline
    from conveyor.runtime.checks import CheckItems
    from conveyor.stream import Stream

__all__ = ["Task", "SingleTask", "BatchTask", "TaskKind", "NO_DATA", "NoOutput"]

In = TypeVar("In", contravariant=True)
Out = TypeVar("Out", covariant=True)
#: The side-input parameters: every parameter of the task's function after the item.
P = ParamSpec("P", default=...)
R = TypeVar("R")


class NoOutput:
    """The output type of a sink (a task whose function returns None): no item ever
    flows out of it, so type checkers reject piping it into another stage.

    Only type checkers see it (``SingleTask[str, NoOutput]``); it is never instantiated.
    """

    if TYPE_CHECKING:
        # Not a _Deliverable: the one thing that tells a sink's output from every item type.
        __eq__: ClassVar[None]  # type: ignore[assignment]


if TYPE_CHECKING:
    _I = TypeVar("_I")
    _O = TypeVar("_O")
    _G = TypeVar("_G")
    _P2 = ParamSpec("_P2")
    _I_contra = TypeVar("_I_contra", contravariant=True)
    _O_co = TypeVar("_O_co", covariant=True)
    _G_contra = TypeVar("_G_contra", contravariant=True)

    class _Deliverable(Protocol):
        """Every item type (everything has ``__eq__``), except ``NoOutput``."""

        def __eq__(self, other: Never, /) -> object: ...  # type: ignore[override]

    class _Stage(Protocol[_I_contra, _O_co]):
        """A task with every required side input bound, or a pipeline: items ``I`` in, ``O`` out."""

        @property
        def __conveyor_stage__(self) -> Callable[[_I_contra], _O_co]: ...

    class _Producer(Protocol[_I_contra, _O_co]):
        """A ``_Stage`` whose items can flow on: not a sink."""

        @property
        def __conveyor_stage__(self) -> Callable[[_I_contra], _O_co]: ...

        @property
        def __conveyor_out__(self) -> _Deliverable: ...

    class Source(Protocol[_O_co]):
        """A source (a task or pipeline that takes no items, required side inputs bound)
        producing ``O`` items: it runs without data, and may be a side input."""

        @property
        def __conveyor_stage__(self) -> Callable[[Never], _O_co]: ...

        @property
        def __conveyor_takes__(self) -> Never: ...

    class TaskWithUnboundSideInputs(Protocol):
        """A task with a required positional side input still unbound (one that more
        than the item must be given to): calling it names ``BindSideInputsFirst``."""

        @property
        def __conveyor_stage__(self) -> Callable[[Never, Never], object]: ...

    class _Method(Protocol[_G_contra, _I_contra, _O_co, _P2]):
        """A task declared as a method: ``self``, then the item, then side inputs."""

        @property
        def __conveyor_stage__(self) -> Callable[Concatenate[_G_contra, _I_contra, _P2], _O_co]: ...

    class _SourceMethod(Protocol[_G_contra, _O_co, _P2]):
        """A method without an item parameter: bound, it is a source."""

        @property
        def __conveyor_stage__(self) -> Callable[Concatenate[_G_contra, _P2], _O_co]: ...

    class _BatchMethod(Protocol[_G_contra, _I, _O_co, _P2]):
        """A batch task declared as a method: ``self``, then the batch (a list), then side inputs."""

        @property
        def __conveyor_stage__(self) -> Callable[Concatenate[_G_contra, list[_I], _P2], _O_co]: ...

    class _RunOptions(TypedDict, total=False):
        max_in_flight: int | None
        check_items: CheckItems | None
        progress: bool

    @final
    class BindSideInputsFirst:
        """What a task with unbound required side inputs takes as data: nothing. Bind
        them with ``with_inputs(...)`` first. (Typing only: a checker's message for
        ``task(data)`` on such a task names it.)"""

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
class Task(Generic[In, Out, P]):
    """One stage of a pipeline. Build tasks with ``@single_task`` / ``@batch_task``.

    ``Task[In, Out, P]``: takes ``In`` items, emits ``Out`` items, side inputs ``P``.
    """

    invoker: Invoker
    name: str
    policy: ErrorPolicy
    concurrency_limit: int | None
    signature: TaskSignature
    declared_types: StageTypes  # what flows in and out, read when the task was made
    defined_at: str  # "file:line" of the user's function, for error messages
    side_inputs: Mapping[str, SideInput] = field(default_factory=dict)
    #: Counts this task's running calls across runs (copies share it); None without a limit.
    gate: ConcurrencyGate | None = None
    static: bool = False  # declared under @staticmethod: never bound to an instance
    method_of: type | None = None  # a method read from its class (no instance): cannot run
    #: Seconds a call may run before it is cancelled and fails with TimeoutError (None: no bound).
    timeout: float | None = None
    #: Where calls run: "inline" (the event-loop thread), "thread", "process", an Executor, a backend.
    executor: ExecutorSpec = "inline"
    #: Where final failures go (``with_dead_letters``): a pipeline taking ``Failed[In]``, or None.
    dead_letters: Pipeline[Any, Any] | None = None
    #: How often it may be called: a bucket per run, or a RateLimiter shared by its users.
    rate_limit: RateLimiter | None = None

    kind: ClassVar[TaskKind]

    def __post_init__(self) -> None:
        if self.concurrency_limit is not None and self.gate is None:
            object.__setattr__(self, "gate", ConcurrencyGate(self.concurrency_limit))

    if TYPE_CHECKING:
        # Phantom members (never set at run time): to a type checker a task is "a
        # callable from its item and side inputs to its output". The protocols above
        # match them to tell bound from unbound side inputs, sinks from producers,
        # and to bind methods.
        @property
        def __conveyor_stage__(self) -> Callable[Concatenate[In, P], Out]:
            raise NotImplementedError

        @property
        def __conveyor_out__(self) -> Out:
            raise NotImplementedError

        # What it takes, read covariantly (against In's declared variance, on purpose):
        # only a source's is Never, so ``Source`` tells sources from the rest, which
        # ``__conveyor_stage__`` cannot (a Callable[[str], O] is a Callable[[Never], O]).
        @property
        def __conveyor_takes__(self) -> In:  # type: ignore[misc]
            raise NotImplementedError

    # -- composition -----------------------------------------------------------------

    @overload
    def __or__(self: _Producer[_I, _O], other: _Stage[_O, R]) -> Pipeline[_I, R]: ...
    @overload
    def __or__(self, other: Never) -> Pipeline[Any, Any]: ...  # pyright: ignore[reportOverlappingOverload]
    # The second overload only exists so that every task has an ``|``: what the first
    # one refuses (a sink on the left, unbound side inputs, a mismatch) is still an
    # error, and the mypy plugin can explain it.

    def __or__(self, other: object) -> Pipeline[Any, Any]:
        from conveyor.pipeline import Pipeline

        if not isinstance(other, (Task, Pipeline)):
            raise TypeError(not_a_stage_message(other, f"{self.name!r} | ..."))
        return Pipeline.of(self) | other

    if not TYPE_CHECKING:  # run time only: checkers (and the mypy plugin) keep their own error

        def __ror__(self, other: object) -> NoReturn:
            # Only reached when the left operand is not a task or pipeline (those have __or__).
            raise TypeError(not_a_stage_message(other, f"... | {self.name!r}"))

    @overload
    def __call__(self: Source[_O], **run_options: Unpack[_RunOptions]) -> Stream[_O]: ...
    @overload
    def __call__(self: TaskWithUnboundSideInputs, data: BindSideInputsFirst, **run_options: Unpack[_RunOptions]) -> Stream[Any]: ...
    @overload
    def __call__(
        self: _Stage[_I, _O], data: Iterable[_I] | AsyncIterable[_I], **run_options: Unpack[_RunOptions]
    ) -> Stream[_O]: ...

    def __call__(self, data: Any = NO_DATA, **run_options: Any) -> Stream[Any]:
        """Run this task alone over ``data`` and stream results in input order."""
        from conveyor.pipeline import Pipeline

        pipeline: Pipeline[Any, Any] = Pipeline.of(self)
        return pipeline(data, **run_options)

    @overload
    def as_completed(self: Source[_O], **run_options: Unpack[_RunOptions]) -> Stream[_O]: ...
    @overload
    def as_completed(self: TaskWithUnboundSideInputs, data: BindSideInputsFirst, **run_options: Unpack[_RunOptions]) -> Stream[Any]: ...
    @overload
    def as_completed(
        self: _Stage[_I, _O], data: Iterable[_I] | AsyncIterable[_I], **run_options: Unpack[_RunOptions]
    ) -> Stream[_O]: ...

    def as_completed(self, data: Any = NO_DATA, **run_options: Any) -> Stream[Any]:
        """Run this task alone over ``data`` and stream results as they complete."""
        from conveyor.pipeline import Pipeline

        pipeline: Pipeline[Any, Any] = Pipeline.of(self)
        return pipeline.as_completed(data, **run_options)

    # -- side inputs -------------------------------------------------------------------

    def with_inputs(self, *args: P.args, **kwargs: P.kwargs) -> Task[In, Out, ...]:
        """A new task with side inputs bound; this task stays as it was.

        Positional values fill the side-input parameters in order; keywords name them.
        Each value may be a plain value, an awaitable, a source pipeline or a Stream.
        """
        self.check_runnable()
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
            if self.signature.item is not None and key == self.signature.item.name:
                raise TypeError(
                    f"task {self.name!r}: {key!r} is its item parameter (it receives the stream's "
                    f"items), not a side input; pass the items as the pipeline's data instead"
                )
            if self.signature.side_param(key) is None and not self.signature.accepts_var_keywords:
                raise TypeError(self._unknown_side_input_message(key))
            named[key] = value
        bound = dict(self.side_inputs)
        for key, value in named.items():
            param = self.signature.side_param(key)
            annotation = param.annotation if param is not None else Any
            bound[key] = _classify_side_input(self, key, value, annotation)
        return replace(self, side_inputs=bound)

    # -- dead letters --------------------------------------------------------------------

    def with_dead_letters(self, branch: _Stage[Failed[In], Any]) -> Self:
        """A new task whose final failures (after retries and the error handler) go to
        ``branch`` as ``Failed[In]`` records, instead of failing the run or being skipped;
        this task stays as it was. ``branch`` is a sink task or a pipeline whose first task
        takes ``Failed[In]`` (checked now: a mismatch is a PipelineTypeError). See
        docs/errors.md."""
        from conveyor.dead_letters import attach

        self.check_runnable()
        return attach(self, branch)  # type: ignore[return-value]  # replace() keeps the class

    def _unknown_side_input_message(self, key: str) -> str:
        names = [p.name for p in self.signature.side]
        message = f"task {self.name!r} has no side-input parameter {key!r}"
        close = get_close_matches(key, names, n=1)
        if close:
            return f"{message}; did you mean {close[0]!r}?"
        return f"{message}; its side inputs are: {', '.join(names) or 'none'}"

    def as_list(self: Source[_O]) -> list[_O]:
        """This source task as a side input that receives all of its items, run once per
        run: ``task.with_inputs(names=names.as_list())``. Typed ``list[T]`` so that every
        type checker compares it with the parameter (see ``conveyor.side``)."""
        name = getattr(self, "name", "task")
        return ItemsSideInput(self, f"{name}.as_list()", all_items=True)  # type: ignore[return-value]

    def as_single(self: Source[_O]) -> _O:
        """This source task as a side input that receives its one item (any other number
        of items fails the run), run once per run. Typed as the item."""
        name = getattr(self, "name", "task")
        return ItemsSideInput(self, f"{name}.as_single()", all_items=False)  # type: ignore[return-value]

    def check_runnable(self) -> None:
        """A method read from its class has no instance to run with: say so."""
        owner = self.method_of
        if owner is not None:
            raise TypeError(
                f"task {self.name!r} is a method of {owner.__name__}, so it needs an instance: "
                f"use {owner.__name__}(...).{self.name}(...), not {owner.__name__}.{self.name}(...)"
                f" (or declare it @staticmethod under the task decorator)"
            )

    def keyword_only_hint(self) -> str:
        """For a source whose keyword-only parameters may have been meant as the item parameter."""
        if not self.is_source:
            return ""
        keyword_only = [p.name for p in self.signature.side if not p.positional]
        if not keyword_only:
            return ""
        return (
            f"; if {keyword_only[0]!r} should receive the items, make it positional "
            f"(the item parameter must come first, before any '*')"
        )

    @property
    def unbound_side_inputs(self) -> tuple[str, ...]:
        """Required side-input parameters that have no value bound yet."""
        return tuple(p.name for p in self.signature.required_side if p.name not in self.side_inputs)

    # -- methods ---------------------------------------------------------------------------

    def __get__(self, instance: object, owner: type | None = None) -> Task[Any, Any]:
        """Tasks declared in a class body bind to the instance, like methods."""
        if self.static:
            return self
        if instance is None:
            return replace(self, method_of=owner) if _declared_in(self, owner) else self
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
        if not is_inline(self.executor):
            parts.append(f"executor={executor_label(self.executor)}")
        if self.policy.on_error != "fail":
            parts.append(f"on_error={self.policy.on_error}")
        if self.policy.retry.attempts > 1:
            parts.append(f"attempts={self.policy.retry.attempts}")
        if self.timeout is not None:
            parts.append(f"timeout={self.timeout:g}s")
        if self.dead_letters is not None:
            parts.append(f"dead letters to {self.dead_letters.name}")
        if self.rate_limit is not None:
            parts.append(f"rate_limit={self.rate_limit.describe()}")
        return ", ".join(parts)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} ({self.describe()}) defined at {self.defined_at}>"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        """Jupyter shows a task as its one-node diagram, as it shows a pipeline (only the
        repr while a side input is unbound, or when Graphviz is missing)."""
        from conveyor.pipeline import Pipeline

        if self.unbound_side_inputs:
            return {"text/plain": repr(self)}
        bundle = Pipeline.of(self)._repr_mimebundle_(include, exclude)
        bundle["text/plain"] = repr(self)
        return bundle


@dataclass(frozen=True, eq=False, slots=True, repr=False)
class SingleTask(Task[In, Out, P]):
    """A stage that calls its function once per item, many items concurrently."""

    kind: ClassVar[TaskKind] = "single"

    if TYPE_CHECKING:  # the same methods as Task's, typed with this class

        def with_inputs(self, *args: P.args, **kwargs: P.kwargs) -> SingleTask[In, Out, ...]:
            raise NotImplementedError

        @overload  # binding changes the item type; the last overload (Self) keeps it an override
        def __get__(self, instance: None, owner: type | None = None) -> Self: ...
        @overload
        def __get__(self: _Method[_G, _I, _O, _P2], instance: _G, owner: type | None = None) -> SingleTask[_I, _O, _P2]: ...
        @overload
        def __get__(self: _SourceMethod[_G, _O, _P2], instance: _G, owner: type | None = None) -> SingleTask[Never, _O, _P2]: ...
        @overload
        def __get__(self, instance: object, owner: type | None = None) -> Self: ...  # a @staticmethod task
        def __get__(self, instance: object, owner: type | None = None) -> Task[Any, Any]:
            raise NotImplementedError


@dataclass(frozen=True, eq=False, slots=True, repr=False)
class BatchTask(Task[In, Out, P]):
    """A stage that calls its function with lists of items."""

    min_size: int = 1
    max_size: int | None = None
    max_wait: float | None = None

    kind: ClassVar[TaskKind] = "batch"

    if TYPE_CHECKING:  # the same methods as Task's, typed with this class

        def with_inputs(self, *args: P.args, **kwargs: P.kwargs) -> BatchTask[In, Out, ...]:
            raise NotImplementedError

        @overload  # binding changes the item type; the last overload (Self) keeps it an override
        def __get__(self, instance: None, owner: type | None = None) -> Self: ...
        @overload
        def __get__(
            self: _BatchMethod[_G, _I, _O, _P2], instance: _G, owner: type | None = None
        ) -> BatchTask[_I, _O, _P2]: ...
        @overload
        def __get__(self, instance: object, owner: type | None = None) -> Self: ...  # a @staticmethod task
        def __get__(self, instance: object, owner: type | None = None) -> Task[Any, Any]:
            raise NotImplementedError

    def describe(self) -> str:
        size = f"batch {self.min_size}..{self.max_size if self.max_size is not None else 'all'}"
        if self.max_wait is not None:
            size += f", max_wait={self.max_wait:g}s"
        rest = Task.describe(self).removeprefix("batch")
        return size + rest


def _declared_in(task: Task[Any, Any], owner: type | None) -> bool:
    """Was the task's function written in the body of ``owner`` (or of a base class)?
    (A task merely stored as a class attribute is not a method.)"""
    if owner is None:
        return False
    scope = getattr(task.invoker.fn, "__qualname__", "").rpartition(".")[0]
    return any(klass.__qualname__ == scope for klass in owner.__mro__)


def not_a_stage_message(operand: object, where: str) -> str:
    """Why ``operand`` cannot be piped: it is not a task made by a decorator."""
    what = short_repr(operand)
    hint = ""
    if callable(operand) and not isinstance(operand, type):
        hint = "; to use a function, decorate it first (or wrap it: single_task(fn))"
    return (
        f"cannot pipe {what} ({type(operand).__name__}) in {where}: pipeline stages are tasks "
        f"made with @single_task or @batch_task{hint}"
    )


def _classify_side_input(task: Task[Any, Any], param: str, value: Any, annotation: Any) -> SideInput:
    from conveyor.pipeline import Pipeline
    from conveyor.stream import Stream
    from conveyor.per_worker import PerWorkerSideInput, made_type
    from conveyor.typecheck import check_side_input_flow, check_side_input_made, check_side_input_value

    task_name = task.name
    all_items = wants_all_items(annotation)
    spelling: str | None = None
    if isinstance(value, PerWorkerSideInput):
        check_side_input_made(task, param, value._source, made_type(value._source), annotation)
        return SideInput(param, SideInputKind.PER_WORKER, value._source, False, annotation, value._spelling)
    if isinstance(value, DeferredSideInput):
        spelling = value._spelling
        value, all_items = _unwrap(task_name, param, value, all_items)
    if isinstance(value, Task):
        value = Pipeline.of(value)
    if isinstance(value, Pipeline):
        if not value.is_source:
            raise TypeError(
                f"task {task_name!r}: side input {param!r} is a pipeline that needs input data; "
                f"pass a pipeline that starts with a source task, or a Stream such as pipeline(data)"
            )
        check_side_input_flow(task, param, value.output_type, annotation, all_items)
        return SideInput(param, SideInputKind.PIPELINE, value, all_items, annotation, spelling)
    if isinstance(value, Stream):
        check_side_input_flow(task, param, value.pipeline.output_type, annotation, all_items)
        return SideInput(param, SideInputKind.STREAM, value, all_items, annotation, spelling)
    if inspect.isawaitable(value):  # checked when resolved, once its value exists
        return SideInput(param, SideInputKind.AWAITABLE, OnceAwaitable(value), False, annotation, spelling)
    check_side_input_value(task, param, value, annotation)
    return SideInput(param, SideInputKind.VALUE, value, False, annotation)


def _unwrap(task_name: str, param: str, marker: DeferredSideInput, all_items: bool) -> tuple[Any, bool]:
    """What a deferred side input stands for, and whether the parameter takes all items:
    the same side input as the raw form, except that the spelling chooses one item or all."""
    from conveyor.pipeline import Pipeline
    from conveyor.stream import Stream

    source = marker._source
    if isinstance(marker, AwaitedSideInput):
        return source, all_items
    if isinstance(marker, ItemsSideInput) and isinstance(source, (Task, Pipeline, Stream)):
        return source, marker._all_items
    raise TypeError(
        f"task {task_name!r}: side input {param!r} is {marker._spelling}, but side() takes an awaitable, "
        f"a source pipeline or task, or a Stream (got {type(source).__name__}); bind a plain value as it is"
    )
