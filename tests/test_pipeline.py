"""Composition: |, Pipeline().add, immutability and the networkx topology."""

from __future__ import annotations

import networkx as nx
import pytest

from conveyor import BatchTask, ErrorHandler, Pipeline, SingleTask, batch_task, single_task


@single_task
def inc(x: int) -> int:
    return x + 1


@single_task
def double(x: int) -> int:
    return x * 2


@batch_task(max_size=2)
def pairs(xs: list[int]) -> int:
    return sum(xs)


async def test_every_composition_form() -> None:
    assert await (inc | double)([1]).collect() == [4]
    assert await (inc | (double | inc))([1]).collect() == [5]
    assert await ((inc | double) | inc)([1]).collect() == [5]
    assert await ((inc | inc) | (double | double))([0]).collect() == [8]


async def test_add_is_the_compatible_spelling() -> None:
    pipeline = Pipeline().add(inc, double)
    assert isinstance(pipeline, Pipeline)
    assert await pipeline([1]).collect() == [4]
    assert await pipeline.add(inc | inc)([1]).collect() == [6]


def test_composing_never_mutates_operands() -> None:
    base = inc | double
    longer = base | pairs
    assert len(base.stages) == 2
    assert len(longer.stages) == 3
    assert base.graph.number_of_nodes() == 4


def test_graph_topology() -> None:
    graph = (inc | double | pairs).graph
    assert isinstance(graph, nx.DiGraph)
    assert list(nx.topological_sort(graph)) == ["source", "stage-0", "stage-1", "stage-2", "sink"]
    assert graph.nodes["stage-2"]["task"] is pairs
    assert graph.nodes["source"]["kind"] == "source"
    assert graph.nodes["sink"]["kind"] == "sink"


def test_the_same_task_twice_is_two_stages() -> None:
    graph = (inc | inc).graph
    assert graph.nodes["stage-0"]["task"] is graph.nodes["stage-1"]["task"]


def test_piping_a_non_task_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        inc | 3  # type: ignore[operator]
    with pytest.raises(TypeError, match="stages are tasks made with @single_task"):
        Pipeline([lambda x: x])  # type: ignore[list-item]


def test_public_names_are_importable() -> None:
    assert isinstance(inc, SingleTask)
    assert isinstance(pairs, BatchTask)
    assert ErrorHandler is not None


def test_tasks_are_immutable() -> None:
    with pytest.raises(AttributeError):
        inc.name = "other"  # type: ignore[misc]


def test_reprs_are_informative() -> None:
    assert "inc" in repr(inc) and "single" in repr(inc)
    assert "batch 1..2" in repr(pairs)
    assert repr(inc | double) == "<Pipeline inc | double>"
