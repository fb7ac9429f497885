"""The types flowing into and out of a stage, read from its function's annotations.

ONE rule set, used by the runtime composition check and mirrored by the mypy plugin:

- input: the item parameter's type; for a batch task the ``T`` of ``list[T]`` /
  ``Sequence[T]`` (any other annotation is an error at decoration); unannotated: Any.
- output: generators (``Iterator[R]``, ``AsyncIterator[R]``, ``Generator[R, ...]``)
  give ``R``; ``R | None`` gives ``R`` (None is dropped); for a batch task a
  ``list[R]`` return gives ``R`` (it fans out); otherwise the return type. A return
  type of ``None`` marks a sink: nothing flows out. (``async def`` annotations
  already name the awaited type; a sync function annotated ``-> Awaitable[R]`` or
  ``Coroutine[..., R]`` gives ``R``.)
- side inputs: every other parameter, with its type.
"""

from __future__ import annotations

import collections.abc
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from conveyor.invoke import CallShape
from conveyor.signature import TaskSignature

__all__ = ["StageTypes", "stage_types", "batch_element_type", "NOTHING"]


class _Nothing:
    def __repr__(self) -> str:
        return "nothing"


#: The output type of a sink: no item ever flows out of it.
NOTHING: Final[Any] = _Nothing()

_LIST_LIKE: Final = {
    list,
    collections.abc.Sequence,
    collections.abc.MutableSequence,
    collections.abc.Iterable,
    collections.abc.Collection,
}
_ITERATORS: Final = {
    collections.abc.Iterator,
    collections.abc.Iterable,
    collections.abc.Generator,
    collections.abc.AsyncIterator,
    collections.abc.AsyncIterable,
    collections.abc.AsyncGenerator,
}
_AWAITABLES: Final = {collections.abc.Awaitable, collections.abc.Coroutine}


@dataclass(frozen=True, slots=True)
class StageTypes:
    input: Any  # Any for a source (it takes no items)
    output: Any  # NOTHING for a sink
    side: Mapping[str, Any]

    @property
    def is_sink(self) -> bool:
        return self.output is NOTHING


def stage_types(signature: TaskSignature, *, batch: bool, shape: CallShape) -> StageTypes:
    item = signature.item
    raw_input = item.annotation if item is not None else Any
    input_type = batch_element_type(raw_input) if batch else raw_input
    return StageTypes(
        input=Any if input_type is None else input_type,
        output=_output_type(signature.returns, batch=batch, shape=shape),
        side={p.name: p.annotation for p in signature.side},
    )


def batch_element_type(annotation: Any) -> Any | None:
    """``T`` for ``list[T]`` / ``Sequence[T]`` (Any when bare or unannotated); None if not a list type."""
    annotation = _strip_annotated(annotation)
    if annotation is Any:
        return Any
    if annotation in _LIST_LIKE:
        return Any
    if typing.get_origin(annotation) in _LIST_LIKE:
        args = typing.get_args(annotation)
        return args[0] if args else Any
    return None


def _output_type(returns: Any, *, batch: bool, shape: CallShape) -> Any:
    returns = _strip_annotated(returns)
    if shape is CallShape.VALUE and typing.get_origin(returns) in _AWAITABLES:
        returns = typing.get_args(returns)[-1] if typing.get_args(returns) else Any
    if shape.fans_out:
        returns = _yielded_type(returns)
        return _drop_none(returns)
    if returns is None or returns is type(None):
        return NOTHING
    returns = _drop_none(returns)
    if batch:
        element = _list_element(returns)
        if element is not None:
            return _drop_none(element)
    return returns


def _yielded_type(returns: Any) -> Any:
    if typing.get_origin(returns) in _ITERATORS:
        args = typing.get_args(returns)
        return args[0] if args else Any
    return Any  # a generator annotated with something else: nothing to read


def _list_element(returns: Any) -> Any | None:
    if returns is list:
        return Any
    if typing.get_origin(returns) is list:
        args = typing.get_args(returns)
        return args[0] if args else Any
    return None


def _drop_none(tp: Any) -> Any:
    """``R | None`` -> ``R``: None is dropped, never delivered."""
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        members = [m for m in typing.get_args(tp) if m is not type(None)]
        if len(members) == len(typing.get_args(tp)):
            return tp
        if not members:
            return NOTHING
        if len(members) == 1:
            return members[0]
        return typing.Union[tuple(members)]
    return tp


def _strip_annotated(tp: Any) -> Any:
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return tp
