"""Composition: ``functools.reduce(operator.or_, tasks)`` over 200 distinct tasks, then ``.graph``.

Composition happens at import/start-up time, so it must stay cheap as pipelines
grow. The reference is the same chain built directly as a networkx DiGraph (the
floor for a graph-backed pipeline). Also reported, without target: decorating
the 200 functions, and composing 1 000 stages (to show how composing scales).
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Sequence
from functools import partial
from typing import Any

import networkx as nx

from benchmarks.harness import Result, Settings, Target, time_sync, timing_details
from conveyor import Pipeline, SingleTask, single_task

ID = "W6"
TITLE = "W6 composition"


def make_function(index: int) -> Any:
    async def step(x: int) -> int:
        return x + index

    step.__name__ = step.__qualname__ = f"step_{index}"
    return step


def make_tasks(count: int) -> list[SingleTask[Any, Any]]:
    return [single_task(make_function(i)) for i in range(count)]


def compose(tasks: Sequence[SingleTask[Any, Any]]) -> nx.DiGraph:
    pipeline: Pipeline[Any, Any] = functools.reduce(operator.or_, tasks)  # type: ignore[arg-type]
    return pipeline.graph


def plain_graph(tasks: Sequence[SingleTask[Any, Any]]) -> nx.DiGraph:
    graph = nx.DiGraph()
    graph.add_node("source", kind="source")
    previous = "source"
    for index, task in enumerate(tasks):
        node = f"stage-{index}"
        graph.add_node(node, kind="task", task=task, index=index)
        graph.add_edge(previous, node, kind="items")
        previous = node
    graph.add_node("sink", kind="sink")
    graph.add_edge(previous, "sink", kind="items")
    return graph


def run(settings: Settings) -> list[Result]:
    repeats = settings.pick(20, 5)
    functions = [make_function(i) for i in range(200)]
    decorate = time_sync({"decorate": lambda: [single_task(fn) for fn in functions]}, repeats)
    results: list[Result] = []
    for count in (200, 1000):
        tasks = make_tasks(count)
        assert compose(tasks).number_of_nodes() == count + 2
        timings = time_sync({"conveyor": partial(compose, tasks), "networkx directly": partial(plain_graph, tasks)},
                            repeats)
        ms = {name: t.scaled(1000) for name, t in timings.items()}
        target = Target(50.0, "value", "< 50 ms") if count == 200 else None
        results.append(Result(
            TITLE, f"reduce(|) over {count} tasks + .graph", "ms",
            ms["conveyor"].median, "networkx DiGraph directly", ms["networkx directly"].median, target,
            details=timing_details(ms, "ms") | {"repeats": repeats},
        ))
    decorate_ms = decorate["decorate"].scaled(1000)
    results.append(Result(
        TITLE, "@single_task on 200 functions", "ms", decorate_ms.median,
        note="not part of the target", details=timing_details({"decorate": decorate_ms}, "ms"),
    ))
    return results
