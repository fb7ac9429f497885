"""Side inputs: values, awaitables, pipelines and streams; graph nodes; errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from conveyor import single_task


@single_task
async def enrich(item: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    return {**item, "enriched": config["value"]}


async def test_plain_value_side_input() -> None:
    task = enrich.with_inputs(config={"value": "processed"})
    assert await task([{"id": 1}]).collect() == [{"id": 1, "enriched": "processed"}]


def test_with_inputs_returns_a_new_task_and_leaves_the_original_unbound() -> None:
    bound = enrich.with_inputs(config={"value": 1})
    assert bound is not enrich
    assert enrich.unbound_side_inputs == ("config",)
    assert bound.unbound_side_inputs == ()


def test_unbound_side_input_is_an_error_at_call_naming_task_and_parameter() -> None:
    with pytest.raises(TypeError, match=r"task 'enrich'.*needs side input\(s\) 'config'"):
        enrich([{"id": 1}])


def test_positional_side_inputs_and_errors() -> None:
    @single_task
    def scale(x: int, factor: int, offset: int = 0) -> int:
        return x * factor + offset

    assert scale.with_inputs(3, 1).side_inputs["offset"].source == 1
    with pytest.raises(TypeError, match="takes 2 side input"):
        scale.with_inputs(1, 2, 3)
    with pytest.raises(TypeError, match="did you mean 'factor'"):
        scale.with_inputs(facter=2)
    with pytest.raises(TypeError, match="given twice"):
        scale.with_inputs(2, factor=2)


async def test_defaulted_side_input_may_stay_unbound() -> None:
    @single_task
    def scale(x: int, factor: int = 2) -> int:
        return x * factor

    assert await scale([1]).collect() == [2]


async def test_awaitable_side_input_is_awaited_once_per_run() -> None:
    loads = 0

    async def load_config() -> dict[str, Any]:
        nonlocal loads
        loads += 1
        return {"value": "from-db"}

    task = enrich.with_inputs(config=load_config())
    assert await task([{"id": 1}, {"id": 2}]).collect() == [
        {"id": 1, "enriched": "from-db"},
        {"id": 2, "enriched": "from-db"},
    ]
    assert await task([{"id": 3}]).collect() == [{"id": 3, "enriched": "from-db"}]
    assert loads == 1  # a coroutine can be awaited once; later runs reuse its value


async def test_future_side_input() -> None:
    future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
    future.set_result({"value": 5})
    assert await enrich.with_inputs(config=future)([{}]).collect() == [{"enriched": 5}]


async def test_pipeline_side_input_single_item_and_all_items() -> None:
    @single_task
    async def settings() -> dict[str, Any]:
        return {"value": "v"}

    @single_task
    def names() -> Iterator[str]:
        yield from ["a", "b"]

    @single_task
    def tag(x: int, allowed: list[str]) -> str:
        return f"{x}:{'/'.join(allowed)}"

    assert await enrich.with_inputs(config=settings)([{}]).collect() == [{"enriched": "v"}]
    assert await tag.with_inputs(allowed=names)([1, 2]).collect() == ["1:a/b", "2:a/b"]


async def test_pipeline_side_input_runs_once_per_run() -> None:
    runs = 0

    @single_task
    async def counter() -> AsyncIterator[int]:
        nonlocal runs
        runs += 1
        yield runs

    @single_task
    def add(x: int, n: int) -> int:
        return x + n

    task = add.with_inputs(n=counter)
    assert await task([0, 0]).collect() == [1, 1]
    assert await task([0]).collect() == [2]


async def test_stream_side_input() -> None:
    @single_task
    def double(x: int) -> int:
        return 2 * x

    @single_task
    def total(x: int, values: list[int]) -> int:
        return x + sum(values)

    assert await total.with_inputs(values=double([1, 2]))([0]).collect() == [6]


async def test_non_list_parameter_needs_exactly_one_item() -> None:
    @single_task
    def two() -> Iterator[dict[str, Any]]:
        yield {"value": 1}
        yield {"value": 2}

    with pytest.raises(ValueError, match="exactly one item.*produced 2") as info:
        await enrich.with_inputs(config=two)([{}]).collect()
    assert "side input 'config'" in "\n".join(info.value.__notes__)


def test_pipeline_side_input_must_be_a_source() -> None:
    with pytest.raises(TypeError, match="needs input data"):
        enrich.with_inputs(config=enrich.with_inputs(config={}))


async def test_failing_side_input_fails_the_run_with_a_note() -> None:
    async def broken() -> dict[str, Any]:
        raise ConnectionError("config service down")

    with pytest.raises(ConnectionError) as info:
        await enrich.with_inputs(config=broken())([{}]).collect()
    assert "while resolving side input 'config'" in "\n".join(info.value.__notes__)


async def test_side_input_resolved_before_first_item() -> None:
    order: list[str] = []

    async def load() -> dict[str, Any]:
        order.append("resolve")
        return {"value": 0}

    @single_task
    def record(item: int, config: dict[str, Any]) -> int:
        order.append(f"item {item}")
        return item

    assert await record.with_inputs(config=load())([1, 2]).collect() == [1, 2]
    assert order == ["resolve", "item 1", "item 2"]


def test_side_inputs_are_graph_nodes_with_labelled_edges() -> None:
    @single_task
    def first(x: int) -> dict[str, Any]:
        return {"x": x}

    pipeline = first | enrich.with_inputs(config={"value": 1})
    graph = pipeline.graph
    side_nodes = [n for n, d in graph.nodes(data=True) if d["kind"] == "side_input"]
    assert side_nodes == ["stage-1.config"]
    assert graph.edges["stage-1.config", "stage-1"] == {"kind": "side_input", "param": "config", "type": dict[str, Any]}


async def test_source_task_with_keyword_only_side_input() -> None:
    @single_task
    def count_to(*, limit: int) -> Iterator[int]:
        yield from range(limit)

    assert await count_to.with_inputs(limit=3)().collect() == [0, 1, 2]


def test_a_coroutine_side_input_of_a_pipeline_never_run_is_closed_quietly() -> None:
    import gc

    async def load() -> dict[str, Any]:
        return {"value": 1}

    coroutine = load()
    task = enrich.with_inputs(config=coroutine)
    del task
    gc.collect()
    assert coroutine.cr_frame is None  # closed, so no "never awaited" warning
