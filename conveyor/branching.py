"""The branching steps users write: ``fan``, ``fork``, ``route``, ``route_by_type``,
``route_by_key``, ``tee`` and ``merge``.

Each returns a one-step ``Pipeline``, so it composes with
``|`` like a task. Fixed-arity overloads (2 to 6 branches) keep every branch's type
for plain type checkers (pyright, mypy without the plugin): a ``*args`` form would
decay to ``object`` in mypy.

Why these names: ``fan`` (out and back in: every item to every branch, outputs
merged) and ``fork`` (every item to every branch, answers paired) are the two ways
to send an item down several paths; ``route`` sends each item down one; ``tee`` is
the Unix tee (a copy to the side, the stream goes on unchanged); ``merge`` joins
several streams into one.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable, Hashable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, overload

from typing_extensions import TypeIs

from conveyor.combinators import (
    NO_ROUTE,
    Combinator,
    as_branch,
    caller_site,
    check_branches,
    check_predicate,
    first_parameter,
    distinct_labels,
    label_of,
    narrowed_by_predicate,
)
from conveyor.typerules import type_repr

if TYPE_CHECKING:
    from typing import Never, TypeGuard, TypeVar

    from conveyor.pipeline import Pipeline
    from conveyor.task import _Stage

    _I = TypeVar("_I")
    _G = TypeVar("_G")
    _K = TypeVar("_K")
    _R = TypeVar("_R")
    _R1 = TypeVar("_R1")
    _R2 = TypeVar("_R2")
    _R3 = TypeVar("_R3")
    _R4 = TypeVar("_R4")
    _R5 = TypeVar("_R5")
    _R6 = TypeVar("_R6")
    _T1 = TypeVar("_T1")
    _T2 = TypeVar("_T2")
    _T3 = TypeVar("_T3")
    _T4 = TypeVar("_T4")

    #: Something merge() can read from: a source pipeline or task, or plain data.
    _Source = _Stage[Never, _R] | Iterable[_R] | AsyncIterable[_R]

__all__ = ["fan", "fork", "route", "route_by_type", "route_by_key", "tee", "merge"]


# -- fan: every item to every branch, the outputs merged ------------------------------------


@overload
def fan(b1: _Stage[_I, _R1], b2: _Stage[_I, _R2], /) -> Pipeline[_I, _R1 | _R2]: ...
@overload
def fan(b1: _Stage[_I, _R1], b2: _Stage[_I, _R2], b3: _Stage[_I, _R3], /) -> Pipeline[_I, _R1 | _R2 | _R3]: ...
@overload
def fan(
    b1: _Stage[_I, _R1], b2: _Stage[_I, _R2], b3: _Stage[_I, _R3], b4: _Stage[_I, _R4], /
) -> Pipeline[_I, _R1 | _R2 | _R3 | _R4]: ...
@overload
def fan(
    b1: _Stage[_I, _R1], b2: _Stage[_I, _R2], b3: _Stage[_I, _R3], b4: _Stage[_I, _R4], b5: _Stage[_I, _R5], /
) -> Pipeline[_I, _R1 | _R2 | _R3 | _R4 | _R5]: ...
@overload
def fan(
    b1: _Stage[_I, _R1],
    b2: _Stage[_I, _R2],
    b3: _Stage[_I, _R3],
    b4: _Stage[_I, _R4],
    b5: _Stage[_I, _R5],
    b6: _Stage[_I, _R6],
    /,
) -> Pipeline[_I, _R1 | _R2 | _R3 | _R4 | _R5 | _R6]: ...


def fan(*branches: Any) -> Pipeline[Any, Any]:
    """Every item goes to each branch; their outputs come out as one stream.

    In ordered mode the outputs follow input order and, for one item, branch order.
    """
    return _build("fan", branches, minimum=2)


# -- fork: every item to every branch, one tuple of answers per item ---------------------------


@overload
def fork(b1: _Stage[_I, _R1], b2: _Stage[_I, _R2], /) -> Pipeline[_I, tuple[_R1, _R2]]: ...
@overload
def fork(b1: _Stage[_I, _R1], b2: _Stage[_I, _R2], b3: _Stage[_I, _R3], /) -> Pipeline[_I, tuple[_R1, _R2, _R3]]: ...
@overload
def fork(
    b1: _Stage[_I, _R1], b2: _Stage[_I, _R2], b3: _Stage[_I, _R3], b4: _Stage[_I, _R4], /
) -> Pipeline[_I, tuple[_R1, _R2, _R3, _R4]]: ...
@overload
def fork(
    b1: _Stage[_I, _R1], b2: _Stage[_I, _R2], b3: _Stage[_I, _R3], b4: _Stage[_I, _R4], b5: _Stage[_I, _R5], /
) -> Pipeline[_I, tuple[_R1, _R2, _R3, _R4, _R5]]: ...
@overload
def fork(
    b1: _Stage[_I, _R1],
    b2: _Stage[_I, _R2],
    b3: _Stage[_I, _R3],
    b4: _Stage[_I, _R4],
    b5: _Stage[_I, _R5],
    b6: _Stage[_I, _R6],
    /,
) -> Pipeline[_I, tuple[_R1, _R2, _R3, _R4, _R5, _R6]]: ...


def fork(*branches: Any) -> Pipeline[Any, Any]:
    """Every item goes to each branch; one tuple of the branches' answers per item.

    Each branch must answer an item with exactly one output. A branch that drops the
    item (returns None, or skips it by its ``on_error``) drops the whole tuple, counted
    as skipped by the fork; a branch that answers with several outputs (a generator)
    is an error naming the branch and the item. Tuples come in input order.
    """
    return _build("fork", branches, minimum=2)


# -- route: each item down one branch ---------------------------------------------------------


@overload
def route(
    predicate: Callable[[_I], TypeIs[_G]], then: _Stage[_G, _R1], otherwise: _Stage[_I, _R2], /
) -> Pipeline[_I, _R1 | _R2]: ...
@overload
def route(
    predicate: Callable[[_I], TypeGuard[_G]], then: _Stage[_G, _R1], otherwise: _Stage[_I, _R2], /
) -> Pipeline[_I, _R1 | _R2]: ...
@overload
def route(predicate: Callable[[_I], object], then: _Stage[_I, _R1], otherwise: _Stage[_I, _R2], /) -> Pipeline[_I, _R1 | _R2]: ...
@overload
def route(predicate: Callable[[_I], TypeIs[_G]], then: _Stage[_G, _R1], /) -> Pipeline[_I, _R1]: ...
@overload
def route(predicate: Callable[[_I], TypeGuard[_G]], then: _Stage[_G, _R1], /) -> Pipeline[_I, _R1]: ...
@overload
def route(predicate: Callable[[_I], object], then: _Stage[_I, _R1], /) -> Pipeline[_I, _R1]: ...


def route(predicate: Callable[[Any], object], then: Any, otherwise: Any = None, /) -> Pipeline[Any, Any]:
    """Items for which ``predicate`` is true go to ``then``, the others to ``otherwise``.

    A predicate annotated ``-> TypeIs[G]`` (or ``TypeGuard[G]``) hands ``then`` the
    narrowed type ``G``. Without ``otherwise``, an item the predicate rejects is an
    error: nothing is dropped silently. The predicate must be a plain function.
    """
    check_predicate("route", predicate)
    parts = (then,) if otherwise is None else (then, otherwise)
    has_otherwise = otherwise is not None

    def choose(item: Any) -> int:
        if predicate(item):
            return 0
        return 1 if has_otherwise else NO_ROUTE

    name = getattr(predicate, "__name__", "predicate")
    narrowed, is_type_is = narrowed_by_predicate(predicate)
    return _build(
        "route", parts, router=choose, narrowed=(narrowed, None), narrows_rest=is_type_is,
        rule=f"by {name}(item)", labels=(f"{name}: yes", "otherwise")[: len(parts)],
        accepts=first_parameter(predicate),
    )


# Without ``default`` the item type is one of the listed types; with it, any item the
# default branch takes (``_I``): the listed branches get their own types either way.
@overload
def route_by_type(r1: tuple[type[_T1], _Stage[_T1, _R1]], /) -> Pipeline[_T1, _R1]: ...
@overload
def route_by_type(r1: tuple[type[_T1], _Stage[_T1, _R1]], /, *, default: _Stage[_I, _R]) -> Pipeline[_I, _R1 | _R]: ...
@overload
def route_by_type(r1: tuple[type[_T1], _Stage[_T1, _R1]], r2: tuple[type[_T2], _Stage[_T2, _R2]], /) -> Pipeline[_T1 | _T2, _R1 | _R2]: ...
@overload
def route_by_type(
    r1: tuple[type[_T1], _Stage[_T1, _R1]], r2: tuple[type[_T2], _Stage[_T2, _R2]], /, *, default: _Stage[_I, _R]
) -> Pipeline[_I, _R1 | _R2 | _R]: ...
@overload
def route_by_type(
    r1: tuple[type[_T1], _Stage[_T1, _R1]],
    r2: tuple[type[_T2], _Stage[_T2, _R2]],
    r3: tuple[type[_T3], _Stage[_T3, _R3]],
    /,
) -> Pipeline[_T1 | _T2 | _T3, _R1 | _R2 | _R3]: ...
@overload
def route_by_type(
    r1: tuple[type[_T1], _Stage[_T1, _R1]],
    r2: tuple[type[_T2], _Stage[_T2, _R2]],
    r3: tuple[type[_T3], _Stage[_T3, _R3]],
    /,
    *,
    default: _Stage[_I, _R],
) -> Pipeline[_I, _R1 | _R2 | _R3 | _R]: ...
@overload
def route_by_type(
    r1: tuple[type[_T1], _Stage[_T1, _R1]],
    r2: tuple[type[_T2], _Stage[_T2, _R2]],
    r3: tuple[type[_T3], _Stage[_T3, _R3]],
    r4: tuple[type[_T4], _Stage[_T4, _R4]],
    /,
) -> Pipeline[_T1 | _T2 | _T3 | _T4, _R1 | _R2 | _R3 | _R4]: ...
@overload
def route_by_type(
    r1: tuple[type[_T1], _Stage[_T1, _R1]],
    r2: tuple[type[_T2], _Stage[_T2, _R2]],
    r3: tuple[type[_T3], _Stage[_T3, _R3]],
    r4: tuple[type[_T4], _Stage[_T4, _R4]],
    /,
    *,
    default: _Stage[_I, _R],
) -> Pipeline[_I, _R1 | _R2 | _R3 | _R4 | _R]: ...


def route_by_type(*routes: tuple[type[Any], Any], default: Any = None) -> Pipeline[Any, Any]:
    """Each item goes to the first branch whose type it is an instance of:
    ``route_by_type((Good, store), (Bad, reject))``. Each branch receives its type.
    An item of no listed type goes to ``default``, or is an error without one.
    """
    for index, pair in enumerate(routes):
        if not (isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[0], type)):
            raise TypeError(
                f"route_by_type: route {index + 1} must be a (type, branch) pair such as (Good, store), got {pair!r}"
            )
    types = tuple(tp for tp, _ in routes)
    parts = tuple(branch for _, branch in routes) + (() if default is None else (default,))
    fallback = len(types) if default is not None else NO_ROUTE

    def choose(item: Any) -> int:
        for index, tp in enumerate(types):
            if isinstance(item, tp):
                return index
        return fallback

    labels = tuple(type_repr(tp) for tp in types) + (() if default is None else ("default",))
    return _build("route", parts, router=choose, narrowed=types, rule="by type", labels=labels, has_default=default is not None)


def route_by_key(
    key: Callable[[_I], Hashable], branches: Mapping[Hashable, _Stage[_I, _R]], /, *, default: _Stage[_I, _R] | None = None
) -> Pipeline[_I, _R]:
    """Each item goes to the branch named by ``key(item)``:
    ``route_by_key(lambda row: row.kind, {"order": orders, "refund": refunds})``.
    An unknown key goes to ``default``, or is an error without one.
    """
    check_predicate("route_by_key", key)
    if not isinstance(branches, Mapping) or not branches:
        raise TypeError(f"route_by_key: branches must be a non-empty mapping of key -> branch, got {branches!r}")
    keys = list(branches)
    index_of = {k: i for i, k in enumerate(keys)}
    parts = tuple(branches.values()) + (() if default is None else (default,))
    fallback = len(keys) if default is not None else NO_ROUTE

    def choose(item: Any) -> int:
        return index_of.get(key(item), fallback)

    name = getattr(key, "__name__", "key")
    labels = tuple(repr(k) for k in keys) + (() if default is None else ("default",))
    return _build("route", parts, router=choose, rule=f"by {name}(item)", labels=labels, accepts=first_parameter(key))


# -- tee: side branches; the stream goes on unchanged ----------------------------------------


def tee(*side_branches: _Stage[_I, Any]) -> Pipeline[_I, _I]:
    """Every item also goes to each side branch (sinks, or pipelines whose outputs are
    drained and counted); the stream goes on with the items unchanged. The stream
    ends only after every side branch has finished, and a side branch's failure
    fails the run like any other.
    """
    return _build("tee", side_branches, minimum=1)


# -- merge: several streams into one -----------------------------------------------------------


@overload
def merge(s1: _Source[_R1], s2: _Source[_R2], /) -> Pipeline[Never, _R1 | _R2]: ...
@overload
def merge(s1: _Source[_R1], s2: _Source[_R2], s3: _Source[_R3], /) -> Pipeline[Never, _R1 | _R2 | _R3]: ...
@overload
def merge(
    s1: _Source[_R1], s2: _Source[_R2], s3: _Source[_R3], s4: _Source[_R4], /
) -> Pipeline[Never, _R1 | _R2 | _R3 | _R4]: ...
@overload
def merge(
    s1: _Source[_R1], s2: _Source[_R2], s3: _Source[_R3], s4: _Source[_R4], s5: _Source[_R5], /
) -> Pipeline[Never, _R1 | _R2 | _R3 | _R4 | _R5]: ...
@overload
def merge(
    s1: _Source[_R1], s2: _Source[_R2], s3: _Source[_R3], s4: _Source[_R4], s5: _Source[_R5], s6: _Source[_R6], /
) -> Pipeline[Never, _R1 | _R2 | _R3 | _R4 | _R5 | _R6]: ...


def merge(*sources: Any) -> Pipeline[Any, Any]:
    """Several source pipelines (starting with a source task) or data streams
    (iterables, async iterables) as one stream, each item as soon as it is ready;
    each source keeps its own order. The result is a source: call it without data.
    """
    from conveyor.pipeline import Pipeline
    from conveyor.task import Task

    if len(sources) < 2:
        raise TypeError(f"merge needs at least 2 sources, got {len(sources)}")
    parts: list[Any] = []
    data: dict[int, Any] = {}
    for index, source in enumerate(sources):
        if isinstance(source, (Task, Pipeline)):
            branch = as_branch("merge", index, source)
            if not branch.is_source:
                raise TypeError(
                    f"merge: source {index + 1} ({branch.name!r}) needs input data; give merge source "
                    f"pipelines (starting with a task that takes no item) or data streams"
                )
            parts.append(branch)
        elif isinstance(source, (str, bytes)) or not isinstance(source, (Iterable, AsyncIterable)):
            raise TypeError(
                f"merge: source {index + 1} is {source!r}; a source is a source pipeline, an iterable or an async iterable"
            )
        else:
            data[index] = source
            parts.append(Pipeline())
    labels = tuple(p.name if index not in data else f"data {index + 1}" for index, p in enumerate(parts))
    combinator = Combinator("merge", tuple(parts), labels, caller_site(2), data=data)
    return Pipeline((combinator,))


# -- shared ---------------------------------------------------------------------------------


def _build(
    kind: Any,
    parts: tuple[Any, ...],
    *,
    minimum: int = 1,
    router: Callable[[Any], int] | None = None,
    narrowed: tuple[Any, ...] = (),
    narrows_rest: bool = False,
    accepts: tuple[str, Any] | None = None,
    has_default: bool = True,
    rule: str = "",
    labels: tuple[str, ...] | None = None,
) -> Pipeline[Any, Any]:
    from conveyor.pipeline import Pipeline

    branches = tuple(as_branch(kind, index, part) for index, part in enumerate(parts))
    check_branches(kind, branches, minimum=minimum)
    combinator = Combinator(
        kind, branches, labels or distinct_labels([label_of(b) for b in branches]), caller_site(3),
        router=router, narrowed=narrowed, narrows_rest=narrows_rest, rule=rule,
        accepts=accepts, has_default=has_default,
    )
    return Pipeline((combinator,))
