"""The typed DAG: composition-time checks, generic tasks, side inputs, item checks."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

import pytest

from conveyor import (
    ItemTypeError,
    Pipeline,
    PipelineTypeError,
    PipelineTypeWarning,
    batch_task,
    single_task,
    typecheck_mode,
)
from conveyor.stage_types import NOTHING

T = TypeVar("T")
N = TypeVar("N", bound=float)


@single_task
def parse(text: str) -> dict[str, Any]:
    return {"text": text}


@single_task
def send(email: str) -> bool:
    return "@" in email


@single_task
def length(text: str) -> int:
    return len(text)


@single_task
def half(x: float) -> float:
    return x / 2


def test_a_mismatch_fails_at_the_pipe_with_a_one_line_summary() -> None:
    with pytest.raises(PipelineTypeError) as info:
        parse | send
    first_line = str(info.value).splitlines()[0]
    assert first_line.startswith("pipeline stage mismatch: 'parse' (test_typecheck.py:")
    assert "outputs dict[str, Any] but 'send' (test_typecheck.py:" in first_line
    assert first_line.endswith("expects str for parameter 'email'")
    assert isinstance(info.value, TypeError)
    assert info.value.producer is parse and info.value.consumer is send


def test_fitting_stages_compose_and_carry_their_types() -> None:
    pipeline = length | half
    assert pipeline.output_type is float
    assert [j.produced for j in pipeline.junctions] == [str, int, float]
    graph = pipeline.graph
    assert graph.edges["stage-0", "stage-1"]["type"] is int
    assert graph.edges["stage-1", "sink"]["type"] is float


def test_junction_of_two_pipelines_is_checked() -> None:
    @single_task
    def shout(text: str) -> str:
        return text.upper()

    left, right = length | half, shout | length
    with pytest.raises(PipelineTypeError, match="'half'.*outputs float but 'shout'"):
        left | right
    with pytest.raises(PipelineTypeError, match="'length'.*outputs int but 'send'"):
        Pipeline().add(length, send)


def test_batch_fan_out_hint() -> None:
    @batch_task(max_size=10)
    def upper_all(items: list[str]) -> list[str]:
        return [i.upper() for i in items]

    @single_task
    def join(words: list[str]) -> str:
        return " ".join(words)

    with pytest.raises(PipelineTypeError) as info:
        upper_all | join
    assert "hint: a batch task's list return fans out" in str(info.value)
    assert upper_all.types.output is str
    assert (upper_all | send).output_type is bool


def test_a_sink_cannot_feed_another_stage() -> None:
    @single_task
    def store(x: int) -> None:
        return None

    assert store.types.output is NOTHING
    with pytest.raises(PipelineTypeError, match="sink"):
        store | half


def test_optional_output_drops_none() -> None:
    @single_task
    def maybe(x: int) -> int | None:
        return x or None

    assert (maybe | half).output_type is float


def test_generators_and_coroutines_output_their_items() -> None:
    @single_task
    def split(text: str) -> Iterator[str]:
        yield from text.split()

    @single_task
    async def count(text: str) -> int:
        return len(text)

    assert (split | count).output_type is int


def test_unannotated_stages_are_gradual() -> None:
    @single_task
    def anything(x):  # type: ignore[no-untyped-def]
        return x

    assert (parse | anything | send).output_type is bool


def test_generic_identity_binds_through_the_chain() -> None:
    @single_task
    def ident(x: T) -> T:
        return x

    assert (length | ident).output_type is int
    with pytest.raises(PipelineTypeError, match="'ident'.*outputs int but 'send'"):
        length | ident | send


def test_generic_sequence_element() -> None:
    @single_task
    def words(text: str) -> list[str]:
        return text.split()

    @single_task
    def first(xs: Sequence[T]) -> T:
        return xs[0]

    assert (words | first).output_type is str
    assert (words | first | send).output_type is bool


def test_typevar_bound_is_respected() -> None:
    @single_task
    def double(x: N) -> N:
        return x

    assert (length | double).output_type is int
    with pytest.raises(PipelineTypeError, match="N"):
        parse | double


def test_lax_mode_warns_and_off_mode_is_silent(monkeypatch: pytest.MonkeyPatch) -> None:
    with typecheck_mode("lax"), pytest.warns(PipelineTypeWarning, match="'parse'.*'send'") as record:
        lax = parse | send
    assert record[0].filename == __file__
    mismatch = lax.graph.edges["stage-0", "stage-1"]["mismatch"]
    assert isinstance(mismatch, PipelineTypeError)

    with typecheck_mode("off"), warnings.catch_warnings():
        warnings.simplefilter("error")
        parse | send

    monkeypatch.setenv("CONVEYOR_TYPECHECK", "off")
    parse | send
    monkeypatch.setenv("CONVEYOR_TYPECHECK", "bogus")
    with pytest.raises(ValueError, match="CONVEYOR_TYPECHECK"):
        parse | send


def test_pipeline_knob() -> None:
    with pytest.warns(PipelineTypeWarning):
        Pipeline(typecheck="lax") | parse | send
    Pipeline(typecheck="off").add(parse, send)
    with pytest.raises(ValueError, match="typecheck"):
        Pipeline(typecheck="loose")  # type: ignore[arg-type]


def test_annotations_naming_local_classes_resolve() -> None:
    class Order:
        pass

    class Invoice:
        pass

    @single_task
    def make(n: int) -> Order:
        return Order()

    @single_task
    def bill(invoice: Invoice) -> str:
        return "billed"

    assert make.types.output is Order
    with pytest.raises(PipelineTypeError, match="outputs .*Order but 'bill'"):
        make | bill


def test_unresolvable_annotation_counts_as_any() -> None:
    @single_task
    def odd(x: "NoSuchName") -> "AlsoMissing":  # type: ignore[name-defined]  # noqa: F821
        return x

    assert odd.types.input is Any and odd.types.output is Any
    assert (parse | odd | send).output_type is bool


def test_batch_parameter_must_be_a_list_type() -> None:
    with pytest.raises(TypeError, match=r"annotate it as list\[T\]"):

        @batch_task(max_size=2)
        def wrong(items: int) -> int:
            return items


def test_with_inputs_checks_plain_values() -> None:
    @single_task
    def scale(x: int, factor: int) -> int:
        return x * factor

    with pytest.raises(TypeError, match="side input 'factor' expects int, got 'two'"):
        scale.with_inputs(factor="two")
    with typecheck_mode("lax"), pytest.warns(PipelineTypeWarning):
        scale.with_inputs(factor="two")


def test_with_inputs_checks_pipeline_outputs() -> None:
    @single_task
    def names() -> Iterator[str]:
        yield "a"

    @single_task
    def tag(x: int, allowed: list[int]) -> int:
        return x

    @single_task
    def offset(x: int, by: int) -> int:
        return x + by

    with pytest.raises(PipelineTypeError, match="for parameter 'allowed'"):
        tag.with_inputs(allowed=names)
    with pytest.raises(PipelineTypeError, match="for parameter 'by'"):
        offset.with_inputs(by=names)


async def test_awaitable_side_input_is_checked_when_resolved() -> None:
    async def factor() -> str:
        return "two"

    @single_task
    def scale(x: int, factor: int) -> int:
        return x * factor

    with pytest.raises(TypeError, match="awaitable side input 'factor' gave 'two'"):
        await scale.with_inputs(factor=factor())([1]).collect()


def test_unbound_side_input_is_rejected_at_composition() -> None:
    @single_task
    def scale(x: int, factor: int) -> int:
        return x * factor

    with pytest.raises(TypeError, match=r"'scale'.*needs side input\(s\) 'factor'"):
        length | scale


@single_task
def liar(x: int) -> int:
    return str(x) if x == 2 else x  # type: ignore[return-value]


async def test_item_checks_off_by_default() -> None:
    assert await liar([1, 2, 3]).collect() == [1, "2", 3]


async def test_item_checks_all_fail_the_producing_stage() -> None:
    with pytest.raises(ItemTypeError, match="task 'liar' produced '2', which is not int") as info:
        await liar([1, 2, 3], check_items="all").collect()
    assert "failed on item 2" in "\n".join(info.value.__notes__)


async def test_item_check_failures_follow_the_stage_policy() -> None:
    @single_task(on_error="skip_item")
    def lenient_liar(x: int) -> int:
        return str(x) if x == 2 else x  # type: ignore[return-value]

    assert await lenient_liar([1, 2, 3], check_items="sample").collect() == [1, 3]


async def test_item_checks_sample_checks_the_first_items(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVEYOR_CHECK_ITEMS", "sample")
    with pytest.raises(ItemTypeError):
        await liar(range(5)).collect()
    with pytest.raises(ValueError, match="check_items"):
        liar([1], check_items="some")  # type: ignore[arg-type]


async def test_item_checks_for_a_source_generator() -> None:
    @single_task
    def numbers() -> Iterator[int]:
        yield 1
        yield "two"  # type: ignore[misc]

    with pytest.raises(ItemTypeError, match="'two'"):
        await numbers(check_items="all").collect()
    await asyncio.sleep(0)
