from __future__ import annotations

import collections
import collections.abc as cabc
import enum
import logging
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import (
    Annotated,
    Any,
    AnyStr,
    Generic,
    Literal,
    NamedTuple,
    NewType,
    NoReturn,
    NotRequired,
    Optional,
    Protocol,
    TypedDict,
    TypeVar,
    Union,
)

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conveyor.typerules import (
    EdgeCheck,
    TypeVarConflict,
    Verdict,
    check_fit,
    fits,
    solve_typevars,
    substitute,
    type_repr,
)

F, M, U = Verdict.FITS, Verdict.MISMATCH, Verdict.UNDECIDED

# --------------------------------------------------------------------------- fixtures

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")
T_co = TypeVar("T_co", covariant=True)
TNum = TypeVar("TNum", bound=float)
TStrBytes = TypeVar("TStrBytes", str, bytes)


class Animal: ...


class Dog(Animal): ...


TAnimal = TypeVar("TAnimal", bound=Animal)
TForward = TypeVar("TForward", bound="Animal")  # bound stays an unresolved ForwardRef


class Cat(Animal): ...


class Outer:
    class Inner: ...


UserId = NewType("UserId", int)
AdminId = NewType("AdminId", UserId)
Names = NewType("Names", list[str])


class Color(enum.Enum):
    RED = 1
    GREEN = 2


class Movie(TypedDict):
    title: str
    year: int


class RatedMovie(TypedDict):
    title: str
    year: int
    rating: float


class BoolYearMovie(TypedDict):
    title: str
    year: bool


class StrYearMovie(TypedDict):
    title: str
    year: str


class TitleOnly(TypedDict):
    title: str


class MaybeYearMovie(TypedDict):
    title: str
    year: NotRequired[int]


class LooseMovie(TypedDict, total=False):
    title: str
    year: int


class SupportsClose(Protocol):
    def close(self) -> None: ...


class HasName(Protocol):
    name: str


class SupportsGet(Protocol[T_co]):
    def get(self) -> T_co: ...


class IntGetter(SupportsGet[int]):  # explicit (nominal) protocol subclass
    def get(self) -> int:
        return 1


class Closer:
    def close(self) -> None: ...


class NamedThing:
    name: str = "n"


class NamedInInit:
    def __init__(self) -> None:
        self.name = "n"


class Getter:
    def get(self) -> int:
        return 1


class Plain: ...


class Point(NamedTuple):
    x: int
    y: int


class Box(Generic[T]): ...


class CoBox(Generic[T_co]): ...


class IntBox(Box[int]): ...


class SubBox(Box[T]): ...


class IntList(list[int]): ...


class Registry(dict):  # type: ignore[type-arg]
    ...


class Iterish:  # Iterable by structure (abc subclass hook), no type arguments
    def __iter__(self) -> Iterator[Any]:
        return iter(())


class Caller:
    def __call__(self, x: int) -> int:
        return x


class Text(str): ...


# --------------------------------------------------------------------------- the table

CASES: list[tuple[object, object, Verdict]] = [
    # Any and object
    (Any, int, F),
    (int, Any, F),
    (Any, list[int], F),
    (list[str], Any, F),
    (int, object, F),
    (list[int], object, F),
    (None, object, F),
    (object, int, M),
    (Any, Literal["a"], F),
    (Any, UserId, F),
    # identity and None
    (int, int, F),
    (None, None, F),
    (None, type(None), F),
    (type(None), None, F),
    (None, int, M),
    (int, None, M),
    # subclasses
    (bool, int, F),
    (Dog, Animal, F),
    (Animal, Dog, M),
    (Dog, Cat, M),
    (str, int, M),
    (int, str, M),
    (Text, str, F),
    (str, Text, M),
    (Outer.Inner, Outer, M),
    # numeric tower
    (int, float, F),
    (bool, float, F),
    (float, complex, F),
    (int, complex, F),
    (bool, complex, F),
    (float, int, M),
    (complex, float, M),
    (complex, int, M),
    (int | float, float, F),
    (list[int], list[float], M),
    (Sequence[int], Sequence[float], F),
    # unions: produced needs every member, expected needs some member
    (int, int | str, F),
    (int, Union[int, str], F),
    (int | str, int | str | bytes, F),
    (Union[int, str], str | int, F),
    (int | str, int, M),
    (bytes, int | str, M),
    (bool, float | str, F),
    (int | None, int, M),
    (Optional[int], int, M),
    (int, Optional[int], F),
    (None, int | None, F),
    (None, Optional[str], F),
    (int | None, Optional[int], F),
    (Optional[int], int | None, F),
    (int | None, int | str | None, F),
    (str | None, int | None, M),
    (Dog | Cat, Animal, F),
    (Dog | int, Animal, M),
    (list[int] | None, Sequence[int] | None, F),
    # Literal
    (Literal["a"], str, F),
    (Literal[1], int, F),
    (Literal[1], float, F),
    (Literal[True], int, F),
    (Literal["a"], Literal["a", "b"], F),
    (Literal["a", "b"], Literal["a", "b", "c"], F),
    (Literal["a", "z"], Literal["a", "b"], M),
    (Literal["c"], Literal["a", "b"], M),
    (Literal[1], Literal[True], M),
    (Literal["a"], int, M),
    (Literal["a", 1], str, M),
    (Literal["a", 1], str | int, F),
    (Literal[None], None, F),
    (Literal[Color.RED], Color, F),
    (str, Literal["a"], M),
    (int, Literal[1, 2], M),
    (int, Literal["a"], M),
    (bool, Literal[True, False], F),
    (bool, Literal[True], M),
    (Color, Literal[Color.RED, Color.GREEN], F),
    (Color, Literal[Color.RED], M),
    (str | int, Literal["a"], M),
    (UserId, Literal[1], M),
    # NewType
    (UserId, int, F),
    (UserId, float, F),
    (AdminId, UserId, F),
    (AdminId, int, F),
    (UserId, UserId, F),
    (int, UserId, M),
    (UserId, AdminId, M),
    (str, UserId, M),
    (UserId, str, M),
    (UserId, int | None, F),
    (UserId, UserId | None, F),
    (Names, Sequence[str], F),
    (Names, list[int], M),
    (Literal[1], UserId, M),
    # Annotated is stripped on both sides
    (Annotated[int, "meta"], int, F),
    (int, Annotated[int, "meta"], F),
    (Annotated[bool, "x"], Annotated[int, "y"], F),
    (Annotated[str, "x"], int, M),
    (list[Annotated[int, "x"]], list[int], F),
    (Annotated[int | None, "x"], int, M),
    # generic containers: invariant
    (list[int], list[int], F),
    (list[bool], list[int], M),
    (list[int], list[bool], M),
    (list[int], list[str], M),
    (typing.List[int], list[int], F),
    (list[int], typing.List[int], F),
    (list, list[int], F),
    (list[int], list, F),
    (typing.List, list[str], F),
    (list[Any], list[int], F),
    (list[int], list[Any], F),
    (list[int | str], list[str | int], F),
    (set[bool], set[int], M),
    (set[int], set[int], F),
    (dict[str, int], dict[str, int], F),
    (dict[str, bool], dict[str, int], M),
    (dict[Literal["a"], int], dict[str, int], M),
    (dict, dict[str, int], F),
    (typing.Dict[str, int], dict[str, int], F),
    (list[int], cabc.MutableSequence[int], F),
    (list[bool], cabc.MutableSequence[int], M),
    (dict[str, bool], cabc.MutableMapping[str, int], M),
    (dict[str, int], cabc.MutableMapping[str, int], F),
    (list[UserId], list[int], M),
    # generic containers: covariant
    (list[int], Sequence[int], F),
    (list[bool], Sequence[int], F),
    (list[int], Iterable[float], F),
    (list[int], typing.Iterable[int], F),
    (list[str], Sequence[int], M),
    (list[int], Iterator[int], M),
    (Iterator[int], Iterable[int], F),
    (Iterable[int], Iterator[int], M),
    (Iterable[int], list[int], M),
    (Sequence[int], list[int], M),
    (list[int], cabc.Collection[int], F),
    (set[bool], cabc.Set[int], F),
    (set[int], typing.AbstractSet[int], F),
    (frozenset[bool], frozenset[int], F),
    (frozenset[int], cabc.Set[float], F),
    (frozenset[int], set[int], M),
    (list[int], typing.Container[int], F),
    (list[int], cabc.Reversible[int], F),
    (collections.deque[int], Sequence[int], F),
    (cabc.Generator[int, None, None], Iterator[int], F),
    (cabc.Generator[int, None, None], Iterable[str], M),
    (list[list[bool]], Sequence[Sequence[int]], F),
    (list[list[bool]], Sequence[list[int]], M),
    (type[Dog], type[Animal], F),
    (type[Animal], type[Dog], M),
    (type[int], type, F),
    (type, type[int], F),
    (type[Dog | Cat], type[Animal], F),
    (int, type[int], M),
    (typing.Type[bool], type[int], F),
    # mappings: keys invariant, values covariant
    (dict[str, int], Mapping[str, float], F),
    (dict[str, int], Mapping[str, int], F),
    (dict[str, bool], Mapping[str, int], F),
    (dict[bool, int], Mapping[int, int], M),
    (dict[str, str], Mapping[str, int], M),
    (collections.OrderedDict[str, int], Mapping[str, int], F),
    (collections.defaultdict[str, list[int]], Mapping[str, Sequence[int]], F),
    (collections.Counter[str], Mapping[str, int], F),
    (collections.Counter[str], Mapping[str, str], M),
    (Mapping[str, int], dict[str, int], M),
    (dict[str, int], Iterable[str], F),
    (dict[str, int], Iterable[int], M),
    (Registry, Mapping[str, int], F),
    (list[int], Mapping[str, int], M),
    # str / bytes / user classes mapped through their bases
    (str, Sequence[str], F),
    (str, Iterable[str], F),
    (str, Sequence[int], M),
    (Text, Iterable[str], F),
    (bytes, Sequence[int], F),
    (bytes, Iterable[str], M),
    (bytearray, Sequence[int], F),
    (range, Sequence[int], F),
    (IntList, Sequence[int], F),
    (IntList, list[int], F),
    (IntList, Sequence[str], M),
    (IntBox, Box[int], F),
    (IntBox, Box[str], M),
    (SubBox[str], Box[str], F),
    (SubBox[str], Box[int], M),
    (Box[bool], Box[int], M),
    (CoBox[bool], CoBox[int], F),
    (CoBox[int], CoBox[bool], M),
    (Box, Box[int], F),
    (Iterish, Iterable[int], U),
    (Iterish, Iterable[Any], F),
    (Iterish, Sequence[int], M),
    (Plain, Iterable[int], M),
    # tuples
    (tuple[int, int], tuple[int, ...], F),
    (tuple[int, str], tuple[int, ...], M),
    (tuple[int, str], tuple[int | str, ...], F),
    (tuple[int, str], tuple[int, str], F),
    (tuple[bool, str], tuple[int, str], F),
    (tuple[int, str], tuple[str, int], M),
    (tuple[int, int], tuple[int, int, int], M),
    (tuple[int, int, int], tuple[int, int], M),
    (tuple[()], tuple[int, ...], F),
    (tuple[()], tuple[()], F),
    (tuple[()], tuple[int], M),
    (tuple[int, ...], Sequence[int], F),
    (tuple[int, ...], Sequence[str], M),
    (tuple[int, str], Sequence[int | str], F),
    (tuple[int, str], Sequence[int], M),
    (tuple[()], Sequence[int], F),
    (tuple[int, ...], tuple[int, int], U),
    (tuple[str, ...], tuple[int, int], M),
    (tuple, tuple[int, int], F),
    (tuple[int, int], tuple, F),
    (typing.Tuple[int, str], tuple[int, str], F),
    (typing.Tuple, tuple[int, ...], F),
    (tuple[int, ...], tuple[float, ...], F),
    (list[int], tuple[int, ...], M),
    (Point, tuple[int, int], F),
    (Point, tuple[int, ...], F),
    (Point, tuple[str, str], M),
    (Point, Sequence[int], F),
    (tuple[int, int], Point, M),
    # TypedDict
    (Movie, Mapping[str, Any], F),
    (Movie, dict[str, Any], F),
    (Movie, Mapping[str, object], F),
    (Movie, Mapping[str, int | str], F),
    (Movie, Mapping[str, int], M),
    (Movie, Mapping[int, Any], M),
    (Movie, Iterable[str], F),
    (Movie, list[str], M),
    (Movie, int, M),
    (Movie, Movie, F),
    (RatedMovie, Movie, F),
    (Movie, RatedMovie, M),
    (TitleOnly, Movie, M),
    (BoolYearMovie, Movie, F),
    (StrYearMovie, Movie, M),
    (MaybeYearMovie, Movie, M),
    (Movie, MaybeYearMovie, F),
    (TitleOnly, MaybeYearMovie, U),
    (Movie, LooseMovie, F),
    (dict[str, Any], Movie, U),
    (dict, Movie, U),
    (Mapping[str, int], Movie, U),
    (dict[int, str], Movie, M),
    (list[str], Movie, M),
    (int, Movie, M),
    # Protocols
    (Closer, SupportsClose, F),
    (Plain, SupportsClose, M),
    (int, SupportsClose, M),
    (Closer | Plain, SupportsClose, M),
    (NamedThing, HasName, F),
    (NamedInInit, HasName, U),
    (int, HasName, M),
    (int, typing.SupportsInt, F),
    (float, typing.SupportsIndex, M),
    (int, typing.SupportsIndex, F),
    (str, typing.SupportsInt, M),
    (bool, typing.SupportsFloat, F),
    (Getter, SupportsGet[Any], F),
    (Getter, SupportsGet[int], U),
    (Plain, SupportsGet[int], M),
    (IntGetter, SupportsGet[int], F),
    (IntGetter, SupportsGet[float], F),
    (IntGetter, SupportsGet[str], M),
    (type[Closer], SupportsClose, U),
    (type[Plain], SupportsClose, M),
    (list[int], typing.Hashable, M),
    (tuple[int, ...], typing.Hashable, F),
    (list[int], typing.Sized, F),
    (int, typing.Sized, M),
    # Callable
    (Callable[[int], int], Callable[[int], int], F),
    (Callable[[float], bool], Callable[[int], int], F),
    (Callable[[int], int], Callable[[float], int], M),
    (Callable[[int], str], Callable[[int], int], M),
    (Callable[[int], int], Callable[[int, int], int], M),
    (Callable[..., int], Callable[[int, str], float], F),
    (Callable[[int], bool], Callable[..., int], F),
    (Callable[[int], str], Callable[..., int], M),
    (typing.Callable[[int], int], Callable[[int], int], F),
    (Callable[[int], int], Callable, F),
    (Callable, Callable[[int], int], F),
    (Callable[[Animal], Dog], Callable[[Dog], Animal], F),
    (Callable[[Dog], Animal], Callable[[Animal], Animal], M),
    (int, Callable[..., Any], M),
    (Caller, Callable[..., Any], F),
    (Caller, Callable[[int], int], U),
    (type[Dog], Callable[..., Animal], F),
    (type[Dog], Callable[..., int], M),
    (type[Dog], Callable[[int], Animal], U),
    (Callable[[int], int], int, M),
    (Callable[[int], int], object, F),
    # TypeVars (unbound)
    (int, T, F),
    (list[int], T, F),
    (Dog, TAnimal, F),
    (int, TAnimal, M),
    (bool, TNum, F),
    (Dog, TForward, U),
    (TForward, Animal, U),
    (str, TNum, M),
    (str, TStrBytes, F),
    (Literal["a"], TStrBytes, F),
    (int, TStrBytes, M),
    (str | bytes, TStrBytes, U),
    (str | int, TStrBytes, M),
    (list[int], list[T], F),
    (dict[str, int], Mapping[K, V], F),
    (T, T, F),
    (T, K, F),
    (T, int, U),
    (T, object, F),
    (TAnimal, Animal, F),
    (TAnimal, Dog, U),
    (TAnimal, int, M),
    (TStrBytes, str | bytes, F),
    (TStrBytes, str, U),
    (TStrBytes, int, M),
    # None / Never / NoReturn
    (NoReturn, int, F),
    (typing.Never, list[str], F),
    (NoReturn, Movie, F),
    (int, typing.Never, M),
    (Any, typing.Never, F),
    # undecidable inputs
    ("Animal", Animal, U),
    (Animal, "Animal", U),
    (typing.ForwardRef("Animal"), Animal, U),
    (list["Dog"], list[Animal], U),
    (list["Dog"], Sequence[int], U),
    ("Foo", int | str, U),
    (42, int, U),
    (int, 42, U),
    (object(), object(), U),
    (typing.Self, int, U),
]


def _case_id(case: tuple[object, object, Verdict]) -> str:
    p, e, v = case
    return f"{type_repr(p)} -> {type_repr(e)} = {v.name}"


@pytest.mark.parametrize(
    ("produced", "expected", "verdict"), CASES, ids=[_case_id(c) for c in CASES]
)
def test_fit_table(produced: object, expected: object, verdict: Verdict) -> None:
    result = check_fit(produced, expected)
    assert result.verdict is verdict, result.reason
    if verdict is Verdict.FITS:
        assert result.reason is None
    else:
        assert result.reason


def test_table_is_large_and_covers_all_verdicts() -> None:
    assert len(CASES) >= 170
    assert {v for _, _, v in CASES} == {F, M, U}


# --------------------------------------------------------------------------- API details


def test_reason_names_both_sides_and_the_rule() -> None:
    result = check_fit(list[bool], list[int])
    assert result == EdgeCheck(
        Verdict.MISMATCH, "list[bool] does not fit list[int]: list is invariant"
    )


def test_optional_reason_mentions_none() -> None:
    reason = check_fit(int | None, int).reason
    assert reason is not None and "None" in reason


def test_fits_is_true_unless_mismatch() -> None:
    assert fits(int, float)
    assert fits(str, "NotAType")  # UNDECIDED counts as fitting
    assert fits("Foo", int)
    assert not fits(int, str)
    assert not fits(int | None, int)


def test_undecided_is_logged_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="conveyor.typerules"):
        check_fit(str, "NotAType")
    records = [r for r in caplog.records if r.name == "conveyor.typerules"]
    assert records and all(r.levelno == logging.DEBUG for r in records)
    assert "NotAType" in records[-1].getMessage()


def test_fits_and_mismatches_are_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="conveyor.typerules"):
        check_fit(int, float)
        check_fit(int, str)
    assert not [r for r in caplog.records if r.name == "conveyor.typerules"]


@pytest.mark.parametrize(
    ("produced", "expected", "bindings", "verdict"),
    [
        (T, int, {T: bool}, F),
        (T, int, {T: str}, M),
        (int, T, {T: str}, M),
        (int, T, {T: float}, F),
        (list[T], list[int], {T: int}, F),
        (list[T], list[int], {T: bool}, M),
        (dict[K, V], Mapping[str, float], {K: str, V: int}, F),
        (Sequence[T], Iterable[K], {T: bool, K: int}, F),
        (T, K, {T: int, K: str}, M),
        (int, T, {}, F),
    ],
)
def test_check_fit_with_bindings(
    produced: object, expected: object, bindings: dict[TypeVar, object], verdict: Verdict
) -> None:
    assert check_fit(produced, expected, bindings).verdict is verdict


def test_check_fit_does_not_mutate_bindings() -> None:
    bindings: dict[TypeVar, object] = {T: int}
    check_fit(list[T], Sequence[K], bindings)
    assert bindings == {T: int}


# --------------------------------------------------------------------------- type_repr


class _Local:
    class Nested: ...


@pytest.mark.parametrize(
    ("tp", "text"),
    [
        (int, "int"),
        (list[str], "list[str]"),
        (typing.List[str], "list[str]"),
        (dict[str, Any], "dict[str, Any]"),
        (typing.Dict[str, Any], "dict[str, Any]"),
        (int | None, "int | None"),
        (Optional[int], "int | None"),
        (Union[int, str], "int | str"),
        (Literal["a"], "Literal['a']"),
        (Literal[1, "b"], "Literal[1, 'b']"),
        (Literal[Color.RED], "Literal[Color.RED]"),
        (Any, "Any"),
        (None, "None"),
        (type(None), "None"),
        (Dog, "Dog"),
        (_Local.Nested, "_Local.Nested"),
        (Sequence[int], "Sequence[int]"),
        (typing.Sequence[int], "Sequence[int]"),
        (Callable[[int], str], "Callable[[int], str]"),
        (Callable[..., str], "Callable[..., str]"),
        (tuple[()], "tuple[()]"),
        (tuple[int, ...], "tuple[int, ...]"),
        (tuple[int, str], "tuple[int, str]"),
        (type[Dog], "type[Dog]"),
        (T, "T"),
        (UserId, "UserId"),
        (Movie, "Movie"),
        ("Foo", "'Foo'"),
        (typing.ForwardRef("Foo"), "'Foo'"),
        (Annotated[int, "m"], "Annotated[int, 'm']"),
        (list[int | None], "list[int | None]"),
        (Box[int], "Box[int]"),
        (typing.Never, "Never"),
    ],
)
def test_type_repr(tp: object, text: str) -> None:
    assert type_repr(tp) == text


def test_type_repr_of_junk_is_a_string() -> None:
    class Hostile:
        def __repr__(self) -> str:
            raise RuntimeError("no")

    assert isinstance(type_repr(Hostile()), str)
    assert type_repr(42) == "42"


# --------------------------------------------------------------------------- solve_typevars


def _solved(
    pattern: object, concrete: object, start: dict[TypeVar, object] | None = None
) -> dict[TypeVar, object]:
    bindings: dict[TypeVar, object] = dict(start or {})
    solve_typevars(pattern, concrete, bindings)
    return bindings


def test_solve_bare_typevar() -> None:
    assert _solved(T, int) == {T: int}


def test_solve_sequence_from_list() -> None:
    assert _solved(Sequence[T], list[str]) == {T: str}


def test_solve_dict() -> None:
    assert _solved(dict[K, V], dict[str, int]) == {K: str, V: int}


def test_solve_mapping_from_subclass_and_typeddict() -> None:
    assert _solved(Mapping[K, V], collections.OrderedDict[str, int]) == {K: str, V: int}
    assert _solved(Mapping[K, V], collections.Counter[str]) == {K: str, V: int}
    assert _solved(Mapping[K, V], Movie) == {K: str, V: str | int}


def test_solve_through_bases() -> None:
    assert _solved(Iterable[T], str) == {T: str}
    assert _solved(Sequence[T], bytes) == {T: int}
    assert _solved(Box[T], IntBox) == {T: int}
    assert _solved(Box[T], SubBox[str]) == {T: str}
    assert _solved(Iterable[T], dict[str, int]) == {T: str}


def test_solve_bound_violated_names_typevar() -> None:
    with pytest.raises(TypeVarConflict, match="TAnimal") as info:
        _solved(TAnimal, int)
    assert info.value.typevar is TAnimal
    assert isinstance(info.value, TypeError)


def test_solve_bound_respected() -> None:
    assert _solved(TAnimal, Dog) == {TAnimal: Dog}
    assert _solved(Sequence[TNum], list[bool]) == {TNum: bool}


def test_solve_constraints() -> None:
    assert _solved(TStrBytes, str) == {TStrBytes: str}
    assert _solved(TStrBytes, Literal["a"]) == {TStrBytes: str}
    assert _solved(TStrBytes, Text) == {TStrBytes: str}  # binds to the constraint itself
    assert _solved(AnyStr, bytes) == {AnyStr: bytes}
    assert _solved(TStrBytes, str | bytes) == {TStrBytes: str | bytes}
    with pytest.raises(TypeVarConflict, match="TStrBytes"):
        _solved(TStrBytes, int)
    with pytest.raises(TypeVarConflict, match="TStrBytes"):
        _solved(list[TStrBytes], list[float])


def test_solve_conflict_when_bound_twice() -> None:
    bindings: dict[TypeVar, object] = {}
    solve_typevars(T, str, bindings)
    with pytest.raises(TypeVarConflict, match="T") as info:
        solve_typevars(T, int, bindings)
    assert info.value.typevar is T
    assert "str" in str(info.value) and "int" in str(info.value)


def test_solve_constrained_conflict_across_calls() -> None:
    bindings: dict[TypeVar, object] = {}
    solve_typevars(TStrBytes, str, bindings)
    with pytest.raises(TypeVarConflict):
        solve_typevars(TStrBytes, bytes, bindings)


def test_solve_widens_compatible_bindings() -> None:
    assert _solved(T, int, {T: bool}) == {T: int}
    assert _solved(T, bool, {T: int}) == {T: int}
    assert _solved(T, int, {T: float}) == {T: float}
    assert _solved(T, str, {T: str}) == {T: str}


def test_solve_widens_literals() -> None:
    bindings = _solved(T, Literal["a"])
    assert bindings == {T: str}
    solve_typevars(T, Literal["b"], bindings)
    assert bindings == {T: str}


def test_solve_optional_and_unions() -> None:
    assert _solved(T | None, int | None) == {T: int}
    assert _solved(Optional[T], int) == {T: int}
    assert _solved(T | None, None) == {}
    assert _solved(list[T] | None, list[str] | None) == {T: str}
    assert _solved(T, int | str) == {T: int | str}
    assert _solved(list[T], list[int] | list[str]) == {T: int | str}


def test_solve_tuples_and_callables() -> None:
    assert _solved(tuple[T, ...], tuple[int, str]) == {T: int | str}
    assert _solved(tuple[T, K], tuple[int, str]) == {T: int, K: str}
    assert _solved(tuple[T, ...], tuple[bool, ...]) == {T: bool}
    assert _solved(Callable[[T], V], Callable[[int], str]) == {T: int, V: str}
    assert _solved(Callable[..., V], type[Dog]) == {V: Dog}
    assert _solved(type[T], type[Dog]) == {T: Dog}


def test_solve_newtype_and_annotated() -> None:
    assert _solved(T, UserId) == {T: UserId}
    assert _solved(Sequence[T], Names) == {T: str}
    assert _solved(Annotated[list[T], "m"], Annotated[list[int], "x"]) == {T: int}


def test_solve_ignores_any_and_unknown() -> None:
    assert _solved(T, Any) == {}
    assert _solved(list[T], list) == {}
    assert _solved(list[T], "Foo") == {}
    assert _solved(list[T], int) == {}  # structure mismatch is check_fit's business
    assert _solved(int, str) == {}


def test_solve_then_substitute_gives_output_type() -> None:
    bindings: dict[TypeVar, object] = {}
    solve_typevars(Iterable[T], list[int], bindings)
    assert substitute(list[T], bindings) == list[int]
    assert check_fit(list[int], Iterable[T], bindings).verdict is Verdict.FITS


# --------------------------------------------------------------------------- substitute


@pytest.mark.parametrize(
    ("tp", "bindings", "result"),
    [
        (T, {T: int}, int),
        (T, {}, Any),
        (list[T], {T: int}, list[int]),
        (list[T], {}, list[Any]),
        (dict[K, list[V]], {K: str, V: int}, dict[str, list[int]]),
        (dict[K, V], {K: str}, dict[str, Any]),
        (T | None, {T: int}, int | None),
        (Optional[T], {T: str}, Optional[str]),
        (Callable[[T], V], {T: int, V: str}, Callable[[int], str]),
        (tuple[T, ...], {T: int}, tuple[int, ...]),
        (Sequence[T], {T: bool}, Sequence[bool]),
        (typing.List[T], {T: int}, typing.List[int]),
        (Box[T], {T: int}, Box[int]),
        (Annotated[list[T], "m"], {T: int}, Annotated[list[int], "m"]),
        (int, {T: int}, int),
        (list[int], {T: str}, list[int]),
        (Box, {T: int}, Box),
        (Literal["a"], {T: int}, Literal["a"]),
        (UserId, {T: int}, UserId),
        ("Foo", {T: int}, "Foo"),
    ],
)
def test_substitute(tp: object, bindings: dict[TypeVar, object], result: object) -> None:
    assert substitute(tp, bindings) == result


# --------------------------------------------------------------------------- robustness

_ATOMS: list[object] = [
    int, str, bool, float, bytes, type(None), None, Any, object, typing.Never, NoReturn,
    Dog, Animal, Movie, SupportsClose, HasName, Point, Box, IntBox, Iterish, Caller,
    UserId, Names, T, TAnimal, TStrBytes, Literal["a", 1], Literal[Color.RED],
    "Forward", typing.ForwardRef("Fwd"), 42, 3.5, b"x", object(), Ellipsis, [int, str],
    (int, str), {"a": int}, lambda x: x, typing.Union, typing.Optional, Generic, Protocol,
    typing.Callable, typing.Tuple, typing.List, tuple, list, dict, typing.ClassVar,
    typing.Self, typing.ParamSpec("Ps"), typing.TypeVarTuple("Ts"), Color, Color.RED,
    collections.Counter, cabc.Generator, typing.SupportsInt, SupportsGet,
]


def _alias(origin: type, args: list[object]) -> object:
    return types.GenericAlias(origin, tuple(args))


def _union(args: list[object]) -> object:
    try:
        return Union[tuple(args)]
    except Exception:
        return _alias(tuple, args)


def _annotated(arg: object) -> object:
    try:
        return Annotated[arg, "junk"]
    except Exception:
        return arg


_ORIGINS: list[Any] = [list, dict, tuple, set, type, SubBox, cabc.Callable, cabc.Mapping, Box]

_TYPES = st.recursive(
    st.sampled_from(_ATOMS),
    lambda inner: st.one_of(
        st.builds(_alias, st.sampled_from(_ORIGINS), st.lists(inner, max_size=3)),
        st.builds(_union, st.lists(inner, min_size=1, max_size=3)),
        st.builds(_annotated, inner),
        st.builds(lambda a, b: _alias(cabc.Callable, [a, b]), st.lists(inner, max_size=2), inner),
    ),
    max_leaves=8,
)


@settings(max_examples=400, deadline=None)
@given(_TYPES, _TYPES)
def test_check_fit_never_raises(produced: object, expected: object) -> None:
    result = check_fit(produced, expected)
    assert isinstance(result, EdgeCheck)
    assert isinstance(result.verdict, Verdict)
    assert (result.reason is None) == (result.verdict is Verdict.FITS)
    assert isinstance(type_repr(produced), str)
    assert isinstance(substitute(produced, {T: int}), object)
    assert isinstance(fits(produced, expected), bool)


@settings(max_examples=200, deadline=None)
@given(_TYPES, _TYPES)
def test_solve_typevars_only_raises_typevarconflict(pattern: object, concrete: object) -> None:
    bindings: dict[TypeVar, object] = {}
    try:
        solve_typevars(pattern, concrete, bindings)
    except TypeVarConflict:
        pass


def test_hostile_objects_do_not_raise() -> None:
    class Hostile:
        def __eq__(self, other: object) -> bool:
            raise RuntimeError("no eq")

        def __getattr__(self, name: str) -> object:
            raise RuntimeError("no attr")

        __hash__ = None  # type: ignore[assignment]

    assert check_fit(Hostile(), int).verdict is Verdict.UNDECIDED
    assert check_fit(int, Hostile()).verdict is Verdict.UNDECIDED
    assert check_fit(list[Hostile()], list[int]).verdict is Verdict.UNDECIDED  # type: ignore[misc]


def test_deeply_nested_types_do_not_raise() -> None:
    deep: object = int
    for _ in range(200):
        deep = list[deep]  # type: ignore[valid-type]
    assert check_fit(deep, deep).verdict is Verdict.FITS
    assert check_fit(deep, Sequence[int]).verdict in (Verdict.MISMATCH, Verdict.UNDECIDED)
