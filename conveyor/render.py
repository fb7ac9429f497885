"""Drawing pipelines with Graphviz: DOT source, SVG / PNG / PDF files, notebook display.

The picture is made from ``pipeline.graph`` alone (and, optionally, a run's
``stream.stats``); this module is never imported by the model, only lazily by
``Pipeline.to_dot()`` and friends.

Visual grammar (also drawn as a small legend in the corner of every diagram):

- **input / output**: grey ellipses at either end (dotted when nothing flows:
  the pipeline starts with a source task, or ends in a sink);
- **task**: a rounded box with the task's name in bold, its kind (``single``, or
  ``batch min..max`` with ``max_wait``) and the options that are set
  (``concurrency_limit``, ``on_error``, ``retry_attempts``, ``error_handler``, ``timeout``, ``rate_limit``);
- **item edge**: a solid arrow labelled with the element type that flows on it
  (long types shortened with an ellipsis; the full type is the edge's tooltip);
- **side input**: a yellow box with square corners (its kind, then its value or
  pipeline), joined to its task by a dashed arrow labelled ``parameter: type``;
- **type mismatch**: a thick red item edge labelled ``outputs X / expects Y``;
- **dead letters**: a dashed dark red arrow with an open head from a task to its
  dead-letter branch, labelled ``dead letters: Failed[In]``;
- **run statistics** (with ``stats=``): in, out, skipped, failed, retries and
  the mean latency per call, below each task's options.

Output is deterministic: the same pipeline gives byte-identical DOT (node ids
are graph positions, never memory addresses).
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import graphviz

from conveyor.executors import executor_label, is_inline
from conveyor.combinators import Combinator
from conveyor.dead_letters import dead_letter_branches
from conveyor.errors import PipelineTypeError
from conveyor.graph import SINK, SOURCE
from conveyor.runtime.stats import RunStats, StageStats, format_seconds
from conveyor.side_inputs import SideInput, SideInputKind
from conveyor.stage_types import NOTHING
from conveyor.task import BatchTask, Task
from conveyor.typerules import type_repr

if TYPE_CHECKING:
    from conveyor.pipeline import Pipeline

__all__ = [
    "GraphvizNotFound", "FORMATS", "to_graphviz", "to_dot", "render", "render_bytes", "mimebundle",
    "outline", "short_type", "task_lines",
]

#: Output formats ``render`` writes (``dot``/``gv`` write the DOT source itself).
FORMATS: Final = ("svg", "png", "pdf", "dot", "gv")

#: Edge labels longer than this are shortened (the full type stays in the tooltip).
TYPE_LABEL_LIMIT: Final = 32
PNG_DPI: Final = "144"
SVG_MIME: Final = "image/svg+xml"

FONT: Final = "Helvetica,Arial,sans-serif"
INK: Final = "#33383F"
MUTED: Final = "#6B7280"
TASK_FILL: Final = "#EEF3FB"
TASK_LINE: Final = "#4A6FA5"
BRANCH_FILL: Final = "#F3EEFA"
BRANCH_LINE: Final = "#7A5AA6"
SIDE_FILL: Final = "#FFF6D5"
SIDE_LINE: Final = "#B8860B"
END_FILL: Final = "#F3F4F6"
END_LINE: Final = "#9CA3AF"
BAD: Final = "#D62728"
WARN: Final = "#C2410C"
DEAD_LINE: Final = "#9F1239"

_ADDRESS: Final = re.compile(r" at 0x[0-9a-fA-F]+")
_INNERMOST: Final = re.compile(r"\[((?:[^\[\]]|\[…\])*)\]")


class GraphvizNotFound(RuntimeError):
    """Graphviz's ``dot`` program is not installed (or not on PATH)."""

    def __init__(self, detail: str = "") -> None:
        message = (
            "cannot draw the pipeline: Graphviz's 'dot' program was not found on PATH.\n"
            "Install Graphviz (the system package, not only the Python 'graphviz' module):\n"
            "  Debian/Ubuntu:  sudo apt-get install graphviz\n"
            "  macOS:          brew install graphviz\n"
            "  conda:          conda install -c conda-forge graphviz\n"
            "  other systems:  https://graphviz.org/download/\n"
            "pipeline.to_dot() still works without it: paste its output into any Graphviz viewer."
        )
        super().__init__(f"{message}\n({detail})" if detail else message)


# -- public API ----------------------------------------------------------------------------


def to_graphviz(pipeline: Pipeline[Any, Any], *, stats: RunStats | None = None, legend: bool = True) -> graphviz.Digraph:
    """The pipeline as a ``graphviz.Digraph`` (with each task's figures when ``stats`` is given)."""
    stage_stats = _stage_stats(pipeline, stats)
    graph = pipeline.graph
    dot = graphviz.Digraph(
        "pipeline",
        graph_attr={
            "rankdir": "LR", "fontname": FONT, "bgcolor": "white", "pad": "0.25",
            "nodesep": "0.35", "ranksep": "0.45", "tooltip": pipeline.name,
        },
        node_attr={"fontname": FONT, "fontsize": "12", "fontcolor": INK, "color": TASK_LINE},
        edge_attr={"fontname": FONT, "fontsize": "10", "fontcolor": MUTED, "color": MUTED, "arrowsize": "0.7"},
    )
    for node, data in graph.nodes(data=True):
        kind = data["kind"]
        if kind == "task":
            _task_node(dot, node, data["task"], stage_stats[data["order"]] if stage_stats else None)
        elif kind == "combinator":
            _combinator_node(dot, node, data["combinator"], stage_stats[data["order"]] if stage_stats else None)
        elif kind == "join":
            _join_node(dot, node, data["combinator"])
        elif kind == "side_input":
            _side_input_node(dot, node, data["side_input"])
        else:
            _end_node(dot, node, graph)
    for tail, head, data in graph.edges(data=True):
        if data["kind"] == "side_input":
            _side_input_edge(dot, tail, head, data["param"], data["type"])
        elif data["kind"] == "dead_letter":
            _dead_letter_edge(dot, tail, head, data["type"])
        else:
            branch = data.get("branch")
            label = None
            if branch is not None and graph.nodes[tail]["kind"] == "combinator":
                label = graph.nodes[tail]["combinator"].labels[branch]
            _item_edge(dot, tail, head, data["type"], data["mismatch"], branch=label)
    if legend:
        _legend(dot, pipeline, with_stats=stats is not None)
    return dot


def to_dot(pipeline: Pipeline[Any, Any], *, stats: RunStats | None = None, legend: bool = True) -> str:
    """The DOT source of the diagram (needs no Graphviz program installed)."""
    source: str = to_graphviz(pipeline, stats=stats, legend=legend).source
    return source


def render_bytes(pipeline: Pipeline[Any, Any], format: str = "svg", *, stats: RunStats | None = None, legend: bool = True) -> bytes:
    """The diagram as bytes in ``format`` (svg, png, pdf, dot)."""
    format = _check_format(format)
    dot = to_graphviz(pipeline, stats=stats, legend=legend)
    if format in ("dot", "gv"):
        source: str = dot.source
        return source.encode("utf-8")
    if format == "png":
        dot.graph_attr["dpi"] = PNG_DPI  # crisp text; SVG/PDF are vectors and need no dpi
    try:
        data: bytes = dot.pipe(format=format)
    except graphviz.ExecutableNotFound as exc:
        raise GraphvizNotFound(str(exc)) from exc
    return data


def render(
    pipeline: Pipeline[Any, Any],
    path: str | Path,
    *,
    format: str | None = None,
    stats: RunStats | None = None,
    legend: bool = True,
) -> Path:
    """Write the diagram to ``path`` (format from its suffix unless given); returns the path."""
    path = Path(path)
    chosen = format if format is not None else path.suffix.removeprefix(".")
    if not chosen:
        raise ValueError(f"cannot tell the image format of {str(path)!r}: give it a suffix ({', '.join(FORMATS)}) or format=")
    data = render_bytes(pipeline, chosen.lower(), stats=stats, legend=legend)
    path.write_bytes(data)
    return path


def short_type(tp: Any, limit: int = TYPE_LABEL_LIMIT) -> str:
    """A readable type name of at most ``limit`` characters: the innermost ``[...]``
    are folded to ``[…]`` first, then the text is cut with ``…``."""
    text = _type_text(tp)
    while len(text) > limit:
        folded = _INNERMOST.sub(lambda m: m.group(0) if m.group(1) == "…" else "[…]", text)
        if folded == text:
            break
        text = folded
    return text if len(text) <= limit else text[: limit - 1] + "…"


def mimebundle(
    pipeline: Pipeline[Any, Any], include: Collection[str] | None = None, exclude: Collection[str] | None = None
) -> dict[str, str]:
    """Jupyter's rich display: the SVG diagram and the repr (only the repr when ``dot`` is missing)."""
    bundle = {"text/plain": repr(pipeline)}
    wanted = (include is None or SVG_MIME in include) and (exclude is None or SVG_MIME not in exclude)
    if wanted:
        try:
            bundle[SVG_MIME] = render_bytes(pipeline, "svg").decode("utf-8")
        except GraphvizNotFound:
            pass  # a notebook without Graphviz still shows the repr (and to_dot() works)
    return bundle


def outline(pipeline: Pipeline[Any, Any]) -> str:
    """A plain-text outline for terminals: one line per stage with its kind, options and
    ``input -> output`` types; side inputs and branches indented below; ``!!`` marks a
    type mismatch."""
    junctions = pipeline.junctions
    lines = [f"pipeline {pipeline.name}"]
    first = junctions[0].produced
    lines.append(f"  input: {_type_text(first) if first is not NOTHING else 'none (the first stage is a source)'}")
    _outline_chain(lines, pipeline.stages, junctions, "  ")
    last = junctions[-1].produced
    lines.append(f"  output: {_type_text(last) if last is not NOTHING else 'none (the last stage is a sink)'}")
    for branch in dead_letter_branches(pipeline):
        lines.append(f"  dead letters {branch.name!r}:")
        _outline_chain(lines, branch.stages, branch.junctions, "    ")
    return "\n".join(lines)


def _outline_chain(lines: list[str], steps: Any, junctions: Any, indent: str) -> None:
    names = [f"{i}. {step.name}" for i, step in enumerate(steps, 1)]
    kinds = [step.describe() if isinstance(step, Combinator) else ", ".join(task_lines(step)) for step in steps]
    name_width = max(map(len, names), default=0)
    kind_width = max(map(len, kinds), default=0)
    for index, step in enumerate(steps):
        mismatch = junctions[index].mismatch
        incoming = junctions[index].produced
        if mismatch is not None:
            lines.append(f"{indent}!! type mismatch: {_mismatch_text(mismatch)}")
            if isinstance(step, Task):
                incoming = step.types.input  # what this stage declares, not what arrives
        flow = f"{_type_text(incoming)} -> {_type_text(junctions[index + 1].produced)}"
        lines.append(f"{indent}{names[index]:<{name_width}}  {kinds[index]:<{kind_width}}  {flow}".rstrip())
        pad = indent + " " * (len(str(index + 1)) + 2)
        if isinstance(step, Combinator):
            flows = junctions[index].branches or tuple(b.junctions for b in step.branches)
            for b, branch in enumerate(step.branches):
                lines.append(f"{pad}branch {step.labels[b]!r}:")
                if branch.stages:
                    _outline_chain(lines, branch.stages, flows[b], pad + "  ")
                else:
                    lines.append(f"{pad}  data")
            continue
        for param, side in step.side_inputs.items():
            lines.append(f"{pad}side input {param}: {_type_text(side.annotation)} <- {_side_text(side)}")
        if step.dead_letters is not None:
            lines.append(f"{pad}dead letters ~> {step.dead_letters.name!r} (Failed[{_type_text(step.types.input)}])")


def _item_edges(graph: Any) -> list[tuple[str, str]]:
    """The item edges in flow order: source -> stage-0 -> ... -> sink."""
    path, node = [], SOURCE
    while node != SINK:
        head = next(h for _, h, kind in graph.out_edges(node, data="kind") if kind == "items")
        path.append((node, head))
        node = head
    return path


def _mismatch_text(mismatch: PipelineTypeError) -> str:
    producer = mismatch.producer.name if mismatch.producer is not None else "the input"
    return (
        f"{producer} outputs {_type_text(mismatch.produced)} / "
        f"{mismatch.consumer.name} expects {_type_text(mismatch.expected)}"
    )


# -- nodes -----------------------------------------------------------------------------------


def _task_node(dot: graphviz.Digraph, node: str, task: Task[Any, Any], stats: StageStats | None) -> None:
    rows = [f'<TR><TD CELLPADDING="4"><B>{_h(task.name)}</B></TD></TR>']
    rows += [_small_row(line) for line in task_lines(task)]
    if stats is not None:
        rows.append("<HR/>")
        rows += _stats_rows(stats)
    table = (
        f'<TABLE BORDER="1" CELLBORDER="0" CELLSPACING="2" CELLPADDING="1" STYLE="rounded" '
        f'BGCOLOR="{TASK_FILL}" COLOR="{TASK_LINE}">{"".join(rows)}</TABLE>'
    )
    dot.node(node, f"<{table}>", shape="plain", margin="0.1", tooltip=_plain(_task_tooltip(task)))


def task_lines(task: Task[Any, Any]) -> list[str]:
    """The kind line, then the set options (each a short ``name=value``; a custom error
    handler by its class name), for labels and outlines."""
    if isinstance(task, BatchTask):
        kind = f"batch {task.min_size}..{task.max_size if task.max_size is not None else 'all'}"
        if task.max_wait is not None:
            kind += f", max_wait={task.max_wait:g}s"
    else:
        kind = task.kind
    options = []
    if task.concurrency_limit is not None:
        options.append(f"concurrency_limit={task.concurrency_limit}")
    if task.policy.on_error != "fail":
        options.append(f"on_error={task.policy.on_error}")
    if task.policy.retry.attempts > 1:
        options.append(f"retry_attempts={task.policy.retry.attempts}")
    if task.policy.handler is not None:
        options.append(f"error_handler={type(task.policy.handler).__name__}")
    if task.timeout is not None:
        options.append(f"timeout={task.timeout:g}s")
    if not is_inline(task.executor):
        options.append(f"executor={executor_label(task.executor)}")
    if task.rate_limit is not None:
        options.append(f"rate_limit={task.rate_limit.describe()}")
    return [kind, *options]


def _task_tooltip(task: Task[Any, Any]) -> str:
    return f"{task.name} ({task.describe()}) defined at {_short_place(task.defined_at)}"


def _small_row(text: str, color: str = MUTED) -> str:
    return f'<TR><TD><FONT POINT-SIZE="10" COLOR="{color}">{_h(text)}</FONT></TD></TR>'


def _stats_rows(stats: StageStats) -> list[str]:
    latency = "-" if stats.mean_latency is None else format_seconds(stats.mean_latency)
    lines = [
        f"in <B>{stats.items_in}</B> · out <B>{stats.items_out}</B>",
        f'{_figure("skipped", stats.skipped, WARN)} · {_figure("failed", stats.failed, BAD)}',
        f'{_figure("retries", stats.retries, WARN)} · mean {_h(latency)}',
    ]
    if stats.dead_lettered:  # only where a branch took some, so other diagrams stay as they were
        lines.insert(2, _figure("dead letters", stats.dead_lettered, DEAD_LINE))
    return [f'<TR><TD><FONT POINT-SIZE="10">{line}</FONT></TD></TR>' for line in lines]


def _figure(name: str, value: int, alert: str) -> str:
    text = f"{name} {value}"
    return f'<FONT COLOR="{alert}"><B>{text}</B></FONT>' if value else f'<FONT COLOR="{MUTED}">{text}</FONT>'


def _combinator_node(dot: graphviz.Digraph, node: str, step: Combinator, stats: StageStats | None) -> None:
    """A branching step: where items split (fan, fork, route, tee) or streams meet (merge)."""
    rows = [f'<TR><TD CELLPADDING="3"><B>{_h(step.kind)}</B></TD></TR>']
    rows.append(_small_row(step.describe().partition(", ")[2]))
    if stats is not None:
        rows.append(_small_row(f"in {stats.items_in} · out {stats.items_out}" + (f" · skipped {stats.skipped}" if stats.skipped else "")))
    table = (
        f'<TABLE BORDER="1" CELLBORDER="0" CELLSPACING="2" CELLPADDING="1" '
        f'BGCOLOR="{BRANCH_FILL}" COLOR="{BRANCH_LINE}">{"".join(rows)}</TABLE>'
    )
    dot.node(node, f"<{table}>", shape="plain", margin="0.1", tooltip=_plain(f"{step.name} at {_short_place(step.defined_at)}"))


def _join_node(dot: graphviz.Digraph, node: str, step: Combinator) -> None:
    label = {"fork": "pair", "merge": "merge"}.get(step.kind, "join")
    dot.node(
        node, label, shape="circle", style="filled", fillcolor=BRANCH_FILL, color=BRANCH_LINE,
        fontsize="9", fontcolor=BRANCH_LINE, width="0.45", fixedsize="true", tooltip=f"{step.kind}: branches meet",
    )


def _side_input_node(dot: graphviz.Digraph, node: str, side: SideInput) -> None:
    """A yellow box with square corners (tasks are blue and rounded): kind, then the value."""
    text = _side_input_name(side)
    rows = (
        f'<TR><TD><FONT POINT-SIZE="9" COLOR="{MUTED}">{_h(side.kind.value)}</FONT></TD></TR>'
        f'<TR><TD><FONT POINT-SIZE="11">{_h(short_type(text, 28))}</FONT></TD></TR>'
    )
    dot.node(
        node, f"<{_side_table(rows, padding='2')}>", shape="plain",
        tooltip=_plain(f"side input {side.param}: {_side_text(side)} ({_type_text(side.annotation)})"),
    )


def _side_table(rows: str, padding: str = "1") -> str:
    """The side-input box, in the diagram and in its legend alike."""
    return (
        f'<TABLE BORDER="1" CELLBORDER="0" CELLSPACING="1" CELLPADDING="{padding}" '
        f'BGCOLOR="{SIDE_FILL}" COLOR="{SIDE_LINE}">{rows}</TABLE>'
    )


def _side_input_name(side: SideInput) -> str:
    """The value's repr, the awaitable's type, or the name of the side input's pipeline."""
    if side.kind is SideInputKind.STREAM:
        return _clean(getattr(getattr(side.source, "pipeline", None), "name", "stream"))
    if side.kind is SideInputKind.VALUE:
        return _clean(side.label)
    return _clean(side.label).removeprefix(side.kind.value).strip()


def _side_text(side: SideInput) -> str:
    """``value 3``, ``awaitable coroutine``, ``pipeline load``, ``stream load``."""
    return f"{side.kind.value} {_side_input_name(side)}"


def _end_node(dot: graphviz.Digraph, node: str, graph: Any) -> None:
    """The input (source) and output (sink) ends; dotted when nothing flows there."""
    edges = graph.out_edges(node, data="type") if node == SOURCE else graph.in_edges(node, data="type")
    empty = all(tp is NOTHING for _, _, tp in edges)
    label = ("no input" if empty else "input") if node == SOURCE else ("no output" if empty else "output")
    dot.node(
        node, label, shape="ellipse", style="dotted" if empty else "filled",
        fillcolor=END_FILL, color=END_LINE, fontcolor=MUTED, fontsize="11",
        margin="0.08,0.04", tooltip=label,
    )


# -- edges -----------------------------------------------------------------------------------


def _item_edge(
    dot: graphviz.Digraph, tail: str, head: str, tp: Any, mismatch: PipelineTypeError | None, *, branch: str | None = None
) -> None:
    if branch is not None and mismatch is None:  # into a branch: its name, then its type
        text = branch if tp is NOTHING else f"{branch}: {short_type(tp)}"
        dot.edge(tail, head, _plain(text), color=BRANCH_LINE, fontcolor=BRANCH_LINE, tooltip=_plain(text))
        return
    if mismatch is not None:
        label = f"<outputs <B>{_h(short_type(mismatch.produced))}</B><BR/>expects <B>{_h(short_type(mismatch.expected))}</B>>"
        dot.edge(
            tail, head, label, color=BAD, fontcolor=BAD, penwidth="2.2", arrowsize="0.9",
            tooltip=_plain(str(mismatch)), labeltooltip=_plain(str(mismatch)),
        )
        return
    if tp is NOTHING:
        dot.edge(tail, head, style="dotted", tooltip="nothing flows here")
        return
    full = _type_text(tp)
    dot.edge(tail, head, _plain(short_type(tp)), tooltip=_plain(full), labeltooltip=_plain(full))


def _side_input_edge(dot: graphviz.Digraph, tail: str, head: str, param: str, tp: Any) -> None:
    """Dashed, labelled ``param: type`` like a parameter (the type shortened; full in the tooltip)."""
    tooltip = _plain(f"{param}: {_type_text(tp)}")
    dot.edge(
        tail, head, _plain(f"{param}: {short_type(tp, 24)}"), style="dashed", color=SIDE_LINE, fontcolor=SIDE_LINE,
        tooltip=tooltip, labeltooltip=tooltip,
    )


def _dead_letter_edge(dot: graphviz.Digraph, tail: str, head: str, tp: Any) -> None:
    """Dashed and dark red, labelled with the records it carries: final failures leave here."""
    tooltip = _plain(f"dead letters: {_type_text(tp)} (final failures of this task)")
    dot.edge(
        tail, head, _plain(f"dead letters: {short_type(tp, 24)}"), style="dashed", color=DEAD_LINE,
        fontcolor=DEAD_LINE, arrowhead="empty", penwidth="1.3", tooltip=tooltip, labeltooltip=tooltip,
    )


# -- legend ----------------------------------------------------------------------------------


def _legend(dot: graphviz.Digraph, pipeline: Pipeline[Any, Any], *, with_stats: bool) -> None:
    """A small key below the diagram, with only the symbols this diagram uses."""
    graph = pipeline.graph
    kinds = {data["kind"] for _, _, data in graph.edges(data=True)}
    has_mismatch = any(data.get("mismatch") is not None for _, _, data in graph.edges(data=True))
    rows = [f'<TR><TD COLSPAN="2" ALIGN="LEFT"><FONT POINT-SIZE="10" COLOR="{MUTED}"><B>legend</B></FONT></TD></TR>']
    rows.append(_legend_row(_swatch("name", TASK_FILL, TASK_LINE), "task: kind, options that are set"))
    if with_stats:
        rows.append(_legend_row(_swatch("in · out", TASK_FILL, TASK_LINE), "run: items in/out, skipped, failed, retries, mean latency per call"))
    rows.append(_legend_row(_arrow("──▶", MUTED), "items, labelled with their type"))
    if any(data["kind"] == "combinator" for _, data in graph.nodes(data=True)):
        rows.append(_legend_row(_swatch("fan", BRANCH_FILL, BRANCH_LINE, rounded=False), "branching step: fan, fork, route, tee, merge"))
        rows.append(_legend_row(_arrow("──▶", BRANCH_LINE), "into a branch, labelled with its name and type"))
    if "side_input" in kinds:
        swatch = _side_table(f'<TR><TD><FONT POINT-SIZE="9">value</FONT></TD></TR>')
        rows.append(_legend_row(swatch, "side input (value, awaitable, pipeline, stream)"))
        rows.append(_legend_row(_arrow("- - ▶", SIDE_LINE), "side input, labelled with parameter: type"))
    if "dead_letter" in kinds:
        rows.append(_legend_row(_arrow("- - ▷", DEAD_LINE), "dead letters: a task's final failures, as Failed[In] records"))
    if has_mismatch:
        rows.append(_legend_row(_arrow("━━▶", BAD), "type mismatch: outputs X / expects Y"))
    table = (
        f'<TABLE BORDER="1" STYLE="rounded" COLOR="{END_LINE}" CELLBORDER="0" CELLSPACING="2" CELLPADDING="2">'
        f'{"".join(rows)}</TABLE>'
    )
    # The key is the graph's label: Graphviz sets it below the layout, so it never moves a node.
    dot.attr("graph", label=f"<{table}>", labelloc="b", labeljust="l")  # last: the DOT reads flow first


def _legend_row(symbol: str, text: str) -> str:
    return (
        f'<TR><TD ALIGN="CENTER">{symbol}</TD>'
        f'<TD ALIGN="LEFT"><FONT POINT-SIZE="9" COLOR="{MUTED}">{_h(text)}</FONT></TD></TR>'
    )


def _swatch(text: str, fill: str, line: str, *, rounded: bool = True) -> str:
    """A small box drawn as the diagram draws that kind of node (rounded: tasks)."""
    style = ' STYLE="rounded"' if rounded else ""
    return (
        f'<TABLE BORDER="1" CELLBORDER="0" CELLPADDING="1"{style} BGCOLOR="{fill}" COLOR="{line}">'
        f'<TR><TD><FONT POINT-SIZE="9">{_h(text)}</FONT></TD></TR></TABLE>'
    )


def _arrow(text: str, color: str) -> str:
    return f'<FONT POINT-SIZE="10" COLOR="{color}">{_h(text)}</FONT>'


# -- helpers ---------------------------------------------------------------------------------


def _stage_stats(pipeline: Pipeline[Any, Any], stats: RunStats | None) -> list[StageStats] | None:
    if stats is None:
        return None
    names = [step.name for _, step in pipeline.tasks()]
    got = [stage.name for stage in stats.stages]
    if got != names:
        raise ValueError(f"these stats are for stages {got}, not for this pipeline's stages {names}")
    return list(stats.stages)


def _check_format(format: str) -> str:
    if format not in FORMATS:
        raise ValueError(f"unknown image format {format!r}; use one of {', '.join(FORMATS)}")
    return format


def _type_text(tp: Any) -> str:
    return _clean(tp if isinstance(tp, str) else type_repr(tp))


def _clean(text: str) -> str:
    """Drop memory addresses (``<object at 0x7f...>``) so output never depends on them."""
    return _ADDRESS.sub("", text)


def _h(text: str) -> str:
    """Text for a Graphviz HTML-like label."""
    return html.escape(text, quote=False)


def _plain(text: str) -> str:
    """Text for an ordinary DOT string attribute (backslashes and ``<...>`` literal)."""
    escaped: str = graphviz.escape(text)
    return escaped


def _short_place(defined_at: str) -> str:
    path, _, line = defined_at.rpartition(":")
    return f"{Path(path).name}:{line}" if path else defined_at

