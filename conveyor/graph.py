"""The pipeline's topology as a networkx DiGraph.

Nodes: one ``source`` (the input data), one node per stage, one node per bound side
input, one ``sink`` (the consumer). Item edges run source -> stage 0 -> ... -> sink;
each side input has an edge to its stage labelled with the parameter name.
This module knows nothing of running or drawing pipelines.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import networkx as nx

from conveyor.task import Task
from conveyor.typecheck import Junction

__all__ = ["SOURCE", "SINK", "build_graph", "check_structure", "stage_node", "side_input_node"]

SOURCE: Final = "source"
SINK: Final = "sink"


def stage_node(index: int) -> str:
    return f"stage-{index}"


def side_input_node(index: int, param: str) -> str:
    return f"stage-{index}.{param}"


def build_graph(stages: Sequence[Task[Any, Any]], junctions: Sequence[Junction]) -> nx.DiGraph:
    """A fresh graph for ``stages`` (never shared, so composing never mutates operands).

    Item edges carry ``type`` (what flows on them) and ``mismatch`` (the
    PipelineTypeError found there in lax/off mode, else None).
    """
    graph = nx.DiGraph()
    graph.add_node(SOURCE, kind="source")
    previous = SOURCE
    for index, task in enumerate(stages):
        node = stage_node(index)
        graph.add_node(node, kind="task", task=task, index=index)
        junction = junctions[index]
        graph.add_edge(previous, node, kind="items", type=junction.produced, mismatch=junction.mismatch)
        for param, side in task.side_inputs.items():
            side_node = side_input_node(index, param)
            graph.add_node(side_node, kind="side_input", side_input=side)
            graph.add_edge(side_node, node, kind="side_input", param=param, type=side.annotation)
        previous = node
    graph.add_node(SINK, kind="sink")
    graph.add_edge(previous, SINK, kind="items", type=junctions[-1].produced, mismatch=None)
    return graph


def check_structure(stages: Sequence[Task[Any, Any]], start: int = 0) -> None:
    """Reject shapes that can never run, at composition time (from ``start`` on)."""
    for index in range(max(start, 1), len(stages)):
        task = stages[index]
        if task.is_source:
            raise TypeError(
                f"task {task.name!r} (defined at {task.defined_at}) takes no item parameter, so it "
                f"is a source and can only start a pipeline; here it would follow "
                f"{stages[index - 1].name!r}"
            )
