"""Side inputs: the extra arguments a task receives besides the stream's items.

``task.with_inputs(...)`` binds each side-input parameter to a ``SideInput``,
classified once at bind time. They become nodes of the pipeline's graph; the
runtime resolves each once per run, before the task's first item.

Deferred side inputs that type-check as their value: ``side`` (an awaitable, a
source pipeline or task, or a Stream) and ``.as_list()`` / ``.as_single()`` (on
tasks, pipelines and streams) are *declared* to return the value the side input
resolves to, so that ``with_inputs``'s ParamSpec checks them in every type checker
(the ``dataclasses.field()`` technique). At run time they return a
``DeferredSideInput``, a marker that only ``with_inputs`` understands; any other
use of it raises ``SideInputMarkerError``.
"""

from __future__ import annotations

import enum
import inspect
import weakref
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, overload

if TYPE_CHECKING:
    import asyncio  # at run time imported where a run uses it: not with conveyor

    from conveyor.stream import Stream
    from conveyor.task import Source

__all__ = [
    "SideInputKind",
    "SideInput",
    "OnceAwaitable",
    "side",
    "DeferredSideInput",
    "AwaitedSideInput",
    "ItemsSideInput",
    "SideInputMarkerError",
]

T = TypeVar("T")


class SideInputKind(enum.Enum):
    VALUE = "value"  # passed as it is
    AWAITABLE = "awaitable"  # awaited once per run
    PIPELINE = "pipeline"  # a source pipeline (or task), run once per run
    STREAM = "stream"  # a Stream (a pipeline already given its data), consumed once
    PER_WORKER = "per worker"  # a factory (``per_worker``), called once per worker of the task's executor


@dataclass(frozen=True, slots=True)
class SideInput:
    param: str
    kind: SideInputKind
    source: Any  # the value, awaitable, pipeline or stream the user passed
    all_items: bool  # pipeline/stream: the parameter takes a list of all items
    annotation: Any = Any
    spelling: str | None = None  # a deferred side input's spelling (``names.as_list()``); None: passed as it is

    @property
    def label(self) -> str:
        """A short text for graph nodes and error notes."""
        if self.kind is SideInputKind.VALUE:
            text = repr(self.source)
            return text if len(text) <= 40 else text[:37] + "..."
        if self.kind is SideInputKind.AWAITABLE:
            inner = getattr(self.source, "awaitable", self.source)
            return f"awaitable {type(inner).__name__}"
        if self.kind is SideInputKind.PER_WORKER:  # "per worker load_model": made by that factory
            return f"per worker {getattr(self.source, '__qualname__', type(self.source).__name__)}"
        return f"{self.kind.value} {getattr(self.source, 'name', type(self.source).__name__)}"


@dataclass(eq=False, slots=True, weakref_slot=True)
class OnceAwaitable:
    """Shares one await of a coroutine among every run that needs its value.

    A coroutine can be awaited only once, but a pipeline may run many times (also
    concurrently), so the first run awaits it and later runs reuse the outcome.
    Futures and other re-awaitable objects are awaited by each run instead.
    """

    awaitable: Awaitable[Any]
    _outcome: tuple[bool, Any] | None = None
    _pending: asyncio.Future[Any] | None = field(default=None)

    def __post_init__(self) -> None:
        if inspect.iscoroutine(self.awaitable):
            # A pipeline built but never run (or stopped before this side input was
            # resolved) never awaits the coroutine: it is ours to close, quietly. A
            # finalizer (not __del__) holds it, so that when both are garbage in one
            # collection (a module's namespace, say) the coroutine is still open when
            # we close it, instead of being finalized first with "never awaited".
            weakref.finalize(self, _close_unstarted, self.awaitable)

    async def get(self) -> Any:
        import asyncio  # a run is going on: already imported

        if not inspect.iscoroutine(self.awaitable):
            return await self.awaitable
        if self._outcome is not None:
            ok, value = self._outcome
            if ok:
                return value
            raise value
        if self._pending is not None and not self._pending.done():
            return await asyncio.shield(self._pending)
        loop = asyncio.get_running_loop()
        self._pending = loop.create_future()
        try:
            value = await self.awaitable
        except BaseException as exc:
            self._settle(False, exc)
            raise
        self._settle(True, value)
        return value

    def _settle(self, ok: bool, value: Any) -> None:
        import asyncio  # a run is going on: already imported

        if isinstance(value, asyncio.CancelledError):
            # The coroutine is spent; later runs get a clear error instead of a reuse crash.
            self._outcome = (False, RuntimeError(
                "this side input's coroutine was cancelled during an earlier run and "
                "cannot be awaited again; pass a coroutine function's fresh result per run"))
        else:
            self._outcome = (ok, value)
        pending, self._pending = self._pending, None
        if pending is not None and not pending.done():
            ok, value = self._outcome  # other runs get what later runs will get, never a raw cancel
            if ok:
                pending.set_result(value)
            else:
                pending.set_exception(value)
                pending.exception()  # mark retrieved: the awaiting run reports it


def _close_unstarted(coroutine: Any) -> None:
    if inspect.getcoroutinestate(coroutine) == inspect.CORO_CREATED:
        coroutine.close()


# -- deferred side inputs: markers that type-check as their value -------------------------------


class SideInputMarkerError(TypeError, AttributeError):
    """A deferred side input (``side(...)``, ``.as_list()``, ``.as_single()``) used
    anywhere but as an argument of ``with_inputs``.

    Also an AttributeError, so that ``getattr(marker, name, default)`` and ``hasattr``
    keep working for tools that probe objects (debuggers, copy, pretty printers)."""


class DeferredSideInput:
    """Base of the markers: a stand-in for a value that ``with_inputs`` resolves once per run.

    Type checkers see the value (the helpers lie about their return type, as
    ``dataclasses.field()`` does); at run time this object only carries what
    ``with_inputs`` needs. Every other use (attribute access, item access, arithmetic,
    comparison, iteration, ``bool()``, ``str()``, calling it) raises
    ``SideInputMarkerError``. A subclass per kind of deferred value; a new kind
    (say, a value made once per worker) is a new subclass that ``with_inputs`` learns.
    """

    __slots__ = ("_conveyor_source", "_conveyor_spelling")

    def __init__(self, source: Any, spelling: str) -> None:
        object.__setattr__(self, "_conveyor_source", source)
        object.__setattr__(self, "_conveyor_spelling", spelling)

    @property
    def _source(self) -> Any:
        return object.__getattribute__(self, "_conveyor_source")

    @property
    def _spelling(self) -> str:
        """How the user wrote it, for messages: ``side(load_config)``, ``names.as_list()``."""
        return str(object.__getattribute__(self, "_conveyor_spelling"))

    def _misuse(self, what: str) -> NoReturn:
        raise SideInputMarkerError(
            f"{self._spelling} is a deferred side input: it only means something as an argument "
            f"of task.with_inputs(...), which resolves it once per run (here it was used for {what}). "
            f"To use the value itself, await or collect it yourself"
        )

    def __repr__(self) -> str:
        return f"<deferred side input {self._spelling}: pass it to task.with_inputs(...)>"

    def __getattr__(self, name: str) -> NoReturn:
        self._misuse(f"attribute {name!r}")

    def __setattr__(self, name: str, value: object) -> NoReturn:
        self._misuse(f"setting attribute {name!r}")

    def __delattr__(self, name: str) -> NoReturn:
        self._misuse(f"deleting attribute {name!r}")

    def __bool__(self) -> NoReturn:
        self._misuse("a truth test")

    def __str__(self) -> str:
        self._misuse("str()")

    def __format__(self, spec: str) -> str:
        self._misuse("formatting")

    def __len__(self) -> int:
        self._misuse("len()")

    def __iter__(self) -> NoReturn:
        self._misuse("iteration")

    def __aiter__(self) -> NoReturn:
        self._misuse("async iteration")

    def __await__(self) -> NoReturn:
        self._misuse("await")

    def __contains__(self, item: object) -> bool:
        self._misuse("'in'")

    def __getitem__(self, key: object) -> NoReturn:
        self._misuse(f"item [{key!r}]")

    def __setitem__(self, key: object, value: object) -> NoReturn:
        self._misuse(f"setting item [{key!r}]")

    def __call__(self, *args: object, **kwargs: object) -> NoReturn:
        self._misuse("a call")

    def __eq__(self, other: object) -> bool:
        self._misuse("==")

    def __ne__(self, other: object) -> bool:
        self._misuse("!=")

    __hash__ = object.__hash__  # may be a dict key or set member: identity, as for any object

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        self._misuse("pickling or copying")


def _operator(name: str) -> Any:
    def method(self: DeferredSideInput, *args: object) -> NoReturn:
        self._misuse(f"the operator {name}")

    method.__name__ = name
    return method


for _name in (
    "__lt__ __le__ __gt__ __ge__ __add__ __radd__ __sub__ __rsub__ __mul__ __rmul__ __matmul__ "
    "__rmatmul__ __truediv__ __rtruediv__ __floordiv__ __rfloordiv__ __mod__ __rmod__ __pow__ "
    "__rpow__ __and__ __rand__ __or__ __ror__ __xor__ __rxor__ __lshift__ __rlshift__ __rshift__ "
    "__rrshift__ __neg__ __pos__ __abs__ __invert__ __int__ __float__ __index__ __enter__ __aenter__"
).split():
    setattr(DeferredSideInput, _name, _operator(_name))
del _name


class AwaitedSideInput(DeferredSideInput):
    """``side(awaitable)``: awaited once per run, like an awaitable passed as it is."""

    __slots__ = ()


class ItemsSideInput(DeferredSideInput):
    """``side(pipeline)`` / ``.as_single()``: exactly one item; ``.as_list()``: all items.

    The source is a source pipeline or task (run once per run) or a Stream (consumed
    once). Unlike a pipeline passed as it is, the parameter's annotation does not
    choose between one item and all of them: the spelling does, as its static type says.
    """

    __slots__ = ("_conveyor_all_items",)

    def __init__(self, source: Any, spelling: str, *, all_items: bool) -> None:
        super().__init__(source, spelling)
        object.__setattr__(self, "_conveyor_all_items", all_items)

    @property
    def _all_items(self) -> bool:
        return bool(object.__getattribute__(self, "_conveyor_all_items"))


@overload
def side(source: Stream[T], /) -> T: ...
@overload
def side(source: Source[T], /) -> T: ...
@overload
def side(source: Awaitable[T], /) -> T: ...


def side(source: Any, /) -> Any:
    """A deferred side input that type-checks as its value, in every type checker.

    ``task.with_inputs(config=side(load_config()))``: ``side`` of an ``Awaitable[T]``,
    of a source pipeline or task emitting ``T`` items, or of a ``Stream[T]`` is typed
    ``T``, so the checker compares ``T`` with the parameter's annotation. A pipeline
    or stream must then produce exactly one item (``.as_list()`` takes all of them).
    At run time it returns a marker that only ``with_inputs`` understands.
    """
    spelling = f"side({_describe(source)})"
    if isinstance(source, DeferredSideInput):
        raise TypeError(f"side() of {source._spelling}: it is already a deferred side input; pass it as it is")
    if inspect.isawaitable(source):
        return AwaitedSideInput(source, spelling)
    return ItemsSideInput(source, spelling, all_items=False)  # with_inputs checks that it is a pipeline or stream


def _describe(source: object) -> str:
    if isinstance(source, DeferredSideInput):
        return source._spelling
    name = getattr(source, "name", None)  # tasks and pipelines
    if isinstance(name, str):
        return name
    inner = getattr(source, "pipeline", None)  # a Stream
    if inner is not None and isinstance(getattr(inner, "name", None), str):
        return f"stream of {inner.name}"
    qualname = getattr(source, "__qualname__", None)
    if isinstance(qualname, str):
        return f"{qualname}()" if inspect.iscoroutine(source) else qualname
    return type(source).__name__
