"""Deferred side inputs: ``side(...)``, ``.as_list()``, ``.as_single()``.

Type checkers see the value they stand for (tests/corpus/*side*, tests/typing); at run
time each is a marker that only ``with_inputs`` understands, resolved once per run like
the raw form, and an error anywhere else.
"""

from __future__ import annotations

import gc
import operator
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from conveyor import PipelineTypeError, SideInputMarkerError, side, single_task
from conveyor.side_inputs import AwaitedSideInput, DeferredSideInput, ItemsSideInput, SideInputKind


@single_task
def names() -> Iterator[str]:
    yield from ["ada", "grace"]


@single_task
def greeting() -> Iterator[str]:
    yield "hello"


@single_task
def shout(text: str) -> str:
    return text.upper()


@single_task
def keep(name: str, allowed: list[str]) -> str | None:
    return name if name in allowed else None


@single_task
def greet(name: str, *, word: str) -> str:
    return f"{word} {name}"


@single_task
def tag(name: str, config: dict[str, str]) -> str:
    return config["tag"] + name


# -- what each form resolves to ------------------------------------------------------------------


async def test_side_of_an_awaitable_is_awaited_once_and_shared_by_later_runs() -> None:
    loads = 0

    async def load_config() -> dict[str, str]:
        nonlocal loads
        loads += 1
        return {"tag": "#"}

    task = tag.with_inputs(config=side(load_config()))
    assert task.side_inputs["config"].kind is SideInputKind.AWAITABLE
    assert await task(["a", "b"]).collect() == ["#a", "#b"]
    assert await task(["c"]).collect() == ["#c"]
    assert loads == 1  # as a raw coroutine: awaited once, its value reused


async def test_side_of_a_source_is_its_one_item_run_once_per_run() -> None:
    runs = 0

    @single_task
    async def word() -> AsyncIterator[str]:
        nonlocal runs
        runs += 1
        yield f"hi{runs}"

    task = greet.with_inputs(word=side(word))
    assert await task(["ada", "bob"]).collect() == ["hi1 ada", "hi1 bob"]
    assert await task(["cy"]).collect() == ["hi2 cy"]
    assert runs == 2  # once per run, not once per item
    assert await greet.with_inputs(word=greeting.as_single())(["x"]).collect() == ["hello x"]
    assert await greet.with_inputs(word=side(greeting | shout))(["x"]).collect() == ["HELLO x"]


async def test_as_list_takes_every_item_of_a_task_pipeline_or_stream() -> None:
    assert await keep.with_inputs(allowed=names.as_list())(["ada", "bob"]).collect() == ["ada"]
    assert await keep.with_inputs(allowed=(names | shout).as_list())(["ADA", "ada"]).collect() == ["ADA"]
    assert await keep.with_inputs(allowed=names().as_list())(["grace"]).collect() == ["grace"]
    assert await greet.with_inputs(word=side(greeting()))(["x"]).collect() == ["hello x"]
    assert await greet.with_inputs(word=greeting().as_single())(["y"]).collect() == ["hello y"]


async def test_the_spelling_not_the_annotation_chooses_one_item_or_all() -> None:
    @single_task
    def groups() -> Iterator[list[str]]:
        yield ["ada", "grace"]  # ONE item, itself a list

    # Passed as it is, a list parameter would take all items (a list of lists: a mismatch);
    # side() / as_single() means the one item, as its static type (list[str]) says.
    with pytest.raises(PipelineTypeError):
        keep.with_inputs(allowed=groups)  # type: ignore[arg-type]
    assert await keep.with_inputs(allowed=side(groups))(["ada", "bob"]).collect() == ["ada"]
    assert await keep.with_inputs(allowed=groups.as_single())(["grace"]).collect() == ["grace"]


async def test_more_than_one_item_for_side_or_as_single_fails_the_run_naming_it() -> None:
    with pytest.raises(ValueError, match=r"side input 'word' of task 'greet' is side\(names\), which takes exactly one item, "
                                         r"but its pipeline produced 2; use \.as_list\(\)") as info:
        await greet.with_inputs(word=side(names))(["x"]).collect()
    assert "side input 'word'" in "\n".join(info.value.__notes__)


# -- mistakes named at composition, or when the value exists -------------------------------------


def test_a_type_mismatch_at_composition_names_the_parameter_and_the_task() -> None:
    with pytest.raises(PipelineTypeError, match=r"'keep'.*parameter 'allowed'") as info:
        keep.with_inputs(allowed=names.as_single())  # type: ignore[arg-type]  # one str, not a list[str]
    assert "takes one item" in str(info.value)

    @single_task
    def numbers() -> Iterator[int]:
        yield 1

    with pytest.raises(PipelineTypeError, match=r"'greet'.*parameter 'word'"):
        greet.with_inputs(word=side(numbers))  # type: ignore[arg-type]
    with pytest.raises(PipelineTypeError, match=r"'keep'.*parameter 'allowed'"):
        keep.with_inputs(allowed=numbers().as_list())  # type: ignore[arg-type]


async def test_an_awaited_value_of_the_wrong_type_fails_the_run_naming_parameter_and_task() -> None:
    async def load_count() -> int:
        return 3

    with pytest.raises(TypeError, match=r"side input 'config' gave 3, which is not dict\[str, str\]") as info:
        await tag.with_inputs(config=side(load_count()))(["a"]).collect()  # type: ignore[arg-type]
    assert "of task 'tag'" in "\n".join(info.value.__notes__)


def test_side_takes_an_awaitable_a_source_or_a_stream() -> None:
    with pytest.raises(TypeError, match=r"task 'greet': side input 'word' is side\(int\), but side\(\) takes an awaitable"):
        greet.with_inputs(word=side(42))  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="side input 'word' is a pipeline that needs input data"):
        greet.with_inputs(word=side(shout))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="needs input data"):
        keep.with_inputs(allowed=shout.as_list())  # type: ignore[misc]
    with pytest.raises(TypeError, match="already a deferred side input"):
        side(side(names))  # type: ignore[call-overload]


# -- anywhere else, a marker is an error that says where it belongs -----------------------------

_MISUSES: dict[str, Callable[[Any], object]] = {
    "attribute": lambda m: m.get("tag"),
    "item": lambda m: m["tag"],
    "arithmetic": lambda m: m + 1,
    "reflected arithmetic": lambda m: 1 + m,
    "comparison": lambda m: m < 2,
    "equality": lambda m: m == {"tag": "#"},
    "truth": lambda m: bool(m),
    "str": lambda m: str(m),
    "format": lambda m: f"{m}",
    "len": lambda m: len(m),
    "iteration": lambda m: list(m),
    "membership": lambda m: "ada" in m,
    "call": lambda m: m(),
    "setting an attribute": lambda m: setattr(m, "x", 1),
    "a function that uses it": lambda m: operator.itemgetter("tag")(m),
    "copying": lambda m: __import__("copy").copy(m),
}


@pytest.mark.parametrize("use", list(_MISUSES), ids=list(_MISUSES))
def test_a_marker_used_outside_with_inputs_raises_a_clear_error(use: str) -> None:
    marker: Any = names.as_list()
    with pytest.raises(SideInputMarkerError, match=r"names\.as_list\(\) is a deferred side input: it only means "
                                                   r"something as an argument of task\.with_inputs\(\.\.\.\)"):
        _MISUSES[use](marker)


async def test_awaiting_a_marker_is_an_error_too() -> None:
    async def load() -> int:
        return 1

    marker: Any = side(load())
    with pytest.raises(SideInputMarkerError, match=r"side\(.*load\(\)\) is a deferred side input.*await"):
        await marker
    bound = greet.with_inputs(word=marker)  # still usable where it belongs (and closed quietly, unrun)
    assert bound.side_inputs["word"].spelling is not None


def test_a_marker_is_still_an_object_to_tools_that_probe_objects() -> None:
    marker: Any = names.as_list()
    assert isinstance(marker, ItemsSideInput) and isinstance(marker, DeferredSideInput)
    assert isinstance(SideInputMarkerError("x"), (TypeError, AttributeError))
    assert getattr(marker, "missing", "default") == "default" and not hasattr(marker, "missing")
    assert repr(marker) == "<deferred side input names.as_list(): pass it to task.with_inputs(...)>"
    assert {marker: 1}[marker] == 1  # hashable by identity
    assert repr((names | shout).as_single()).startswith("<deferred side input (names | shout).as_single()")


def test_the_graph_shows_a_deferred_side_input_as_its_kind() -> None:
    pipeline = keep.with_inputs(allowed=names.as_list()) | shout
    side_input = pipeline.graph.nodes["stage-0.allowed"]["side_input"]
    assert side_input.kind is SideInputKind.PIPELINE and side_input.all_items
    assert side_input.spelling == "names.as_list()"


def test_a_coroutine_side_input_collected_with_its_module_is_closed_without_a_warning() -> None:
    async def load() -> dict[str, str]:
        return {"tag": "#"}

    forms: list[Callable[[Any], Any]] = [side, lambda coroutine: coroutine]  # deferred, and raw
    for spelled in forms:
        namespace: dict[str, Any] = {}
        namespace["self"] = namespace  # a cycle, as a module's namespace is with its functions
        namespace["task"] = tag.with_inputs(config=spelled(load()))
        del namespace
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            gc.collect()
        assert [w for w in caught if "never awaited" in str(w.message)] == []


def test_awaited_marker_kinds() -> None:
    async def load() -> int:
        return 1

    coroutine = load()
    marker: Any = side(coroutine)
    assert isinstance(marker, AwaitedSideInput)
    coroutine.close()
