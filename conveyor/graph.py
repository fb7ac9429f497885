"""The pipeline's topology as a networkx DiGraph.

Nodes: one ``source`` (the input data), one node per stage, one node per bound side
input, one ``sink`` (the consumer), for each branching step a ``combinator``
node and a ``join`` node with the branches between them, and the stages of each
dead-letter branch, reached by ``dead_letter`` edges from the tasks that use it. Item edges run source ->
stage 0 -> ... -> sink; each side input has an edge to its stage labelled with the
parameter name.
This module knows nothing of running or drawing pipelines.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from conveyor.combinators import Combinator
from conveyor.stage_types import NOTHING
from conveyor.task import Task
from conveyor.typecheck import Junction

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["SOURCE", "SINK", "build_graph", "check_structure", "stage_node", "side_input_node", "dead_letter_node"]

SOURCE: Final = "source"
SINK: Final = "sink"


def stage_node(index: int) -> str:
    return f"stage-{index}"


def side_input_node(index: int, param: str) -> str:
    return f"stage-{index}.{param}"


def build_graph(stages: Sequence[Any], junctions: Sequence[Junction]) -> nx.DiGraph:
    """A fresh graph for ``stages`` (never shared, so composing never mutates operands).

    Item edges carry ``type`` (what flows on them) and ``mismatch`` (the
    PipelineTypeError found there in lax/off mode, else None). A branching step is a
    ``combinator`` node with an edge to the first stage of each branch (``branch``:
    its index) and, except for ``tee``, a ``join`` node where the branches meet.
    Branch stages are named after their place: ``stage-2/b1/stage-0``. networkx is
    imported here, when a graph is first needed, not with conveyor (it costs ~150 ms).
    """
    import networkx as nx

    graph = nx.DiGraph()
    graph.add_node(SOURCE, kind="source")
    order = [0]
    last = _add_chain(graph, stages, junctions, "", SOURCE, order)
    graph.add_node(SINK, kind="sink")
    graph.add_edge(last, SINK, kind="items", type=junctions[-1].produced, mismatch=None)
    _add_dead_letters(graph, order)
    return graph


def dead_letter_node(index: int) -> str:
    return f"dead-{index}"


def _add_dead_letters(graph: nx.DiGraph, order: list[int]) -> None:
    """Each distinct dead-letter branch once (``dead-0/stage-0`` ...), after the rest
    (the order of the run's figures), its nodes marked ``dead_letters`` (the branch's
    name), with a ``dead_letter`` edge from every task that sends it records
    (``type``: ``Failed[In]`` of that task)."""
    from conveyor.dead_letters import Failed, branch_key

    starts: dict[tuple[int, ...], str] = {}
    senders = [(node, data["task"]) for node, data in graph.nodes(data=True)
               if data["kind"] == "task" and data["task"].dead_letters is not None]
    for node, task in senders:
        branch = task.dead_letters
        key = branch_key(branch)
        if key not in starts:
            prefix = f"{dead_letter_node(len(starts))}/"
            starts[key] = prefix + stage_node(0)
            _add_chain(graph, branch.stages, branch.junctions, prefix, node, order)
            graph.remove_edge(node, starts[key])  # drawn as the dead-letter edge below
            for member in [n for n in graph if str(n).startswith(prefix)]:
                graph.nodes[member]["dead_letters"] = branch.name  # a dead-letter branch's own node
        graph.add_edge(
            node, starts[key], kind="dead_letter", type=Failed[task.types.input],  # type: ignore[name-defined]
            mismatch=None,
        )


def _add_chain(
    graph: nx.DiGraph, stages: Sequence[Any], junctions: Sequence[Junction], prefix: str, previous: str, order: list[int]
) -> str:
    """Add ``stages`` after node ``previous``; return the last node. ``order`` counts
    steps in ``Pipeline.tasks()`` order (the order of the run's figures)."""
    for index, step in enumerate(stages):
        node = prefix + stage_node(index)
        junction = junctions[index]
        if isinstance(step, Combinator):
            previous = _add_combinator(graph, step, junction, node, previous, order)
            continue
        graph.add_node(node, kind="task", task=step, index=index, prefix=prefix, order=order[0])
        order[0] += 1
        graph.add_edge(previous, node, kind="items", type=junction.produced, mismatch=junction.mismatch)
        for param, side in step.side_inputs.items():
            side_node = f"{node}.{param}"
            graph.add_node(side_node, kind="side_input", side_input=side)
            graph.add_edge(side_node, node, kind="side_input", param=param, type=side.annotation)
        previous = node
    return previous


def _add_combinator(
    graph: nx.DiGraph, step: Combinator, junction: Junction, node: str, previous: str, order: list[int]
) -> str:
    graph.add_node(node, kind="combinator", combinator=step, order=order[0])
    order[0] += 1
    graph.add_edge(previous, node, kind="items", type=junction.produced, mismatch=junction.mismatch)
    join = node if step.kind == "tee" else f"{node}.join"
    if join != node:
        graph.add_node(join, kind="join", combinator=step)
    for index, branch in enumerate(step.branches):
        flow = junction.branches[index] if index < len(junction.branches) else branch.junctions
        start = f"{node}/b{index}/"
        first = start + stage_node(0)
        end = _add_chain(graph, branch.stages, flow, start, node, order)
        graph.edges[node, first]["branch"] = index
        if step.kind == "merge":
            graph.edges[node, first]["type"] = NOTHING
        if step.kind != "tee":
            graph.add_edge(end, join, kind="items", type=flow[-1].produced, mismatch=None, branch=index)
    return join


def check_structure(stages: Sequence[Any], start: int = 0) -> None:
    """Reject shapes that can never run, at composition time (from ``start`` on)."""
    for index in range(max(start, 1), len(stages)):
        task = stages[index]
        if task.is_source:
            raise TypeError(
                f"task {task.name!r} (defined at {task.defined_at}) takes no item parameter, so it "
                f"is a source and can only start a pipeline; here it would follow "
                f"{stages[index - 1].name!r}{task.keyword_only_hint() if isinstance(task, Task) else ''}"
            )
