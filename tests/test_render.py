"""Drawing pipelines: DOT snapshots, real SVG output, files, the missing-dot error,
Jupyter display and the plain-text outline.

Snapshots live in tests/snapshots/*.dot; regenerate them with
``UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/test_render.py`` and review the diff.
(The tasks below are at the top of the file on purpose: their line numbers are in
the snapshots' tooltips.)
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conveyor import PipelineTypeWarning, batch_task, single_task, typecheck_mode
from conveyor.pipeline import Pipeline
from conveyor.render import GraphvizNotFound, mimebundle, render, short_type, to_dot, to_graphviz
from conveyor.runtime.stats import RunStats, StageStats


@single_task
def parse(line: str) -> int:
    return int(line)


@single_task(concurrency_limit=4, on_error="skip_item", retry_attempts=3, retry_delay=0)
async def scale(x: int, factor: int, names: list[str]) -> dict[str, list[tuple[int, str, float]]]:
    return {str(x * factor): []}


@batch_task(min_size=2, max_size=10, max_wait=0.5)
def summarise(rows: list[dict[str, list[tuple[int, str, float]]]]) -> list[str]:
    return [str(row) for row in rows]


@single_task
def city_names() -> Iterator[str]:
    yield from ("London", "Paris")


@single_task
def shout(text: str) -> str:
    return text.upper()


@single_task
def store(text: str) -> None:
    pass


SIMPLE = Pipeline.of(parse)
RICH = parse | scale.with_inputs(factor=3, names=city_names) | summarise | store
with typecheck_mode("lax"), warnings.catch_warnings():
    warnings.simplefilter("ignore", PipelineTypeWarning)
    MISMATCH = parse | shout | store
SOURCE_FIRST = city_names | shout
STATS = RunStats(
    [
        StageStats("parse", items_in=10, items_out=9, calls=10, busy_seconds=0.004, finished_calls=10),
        StageStats("scale", items_in=9, items_out=8, calls=9, retries=2, skipped=1, busy_seconds=1.8, finished_calls=9),
        StageStats("summarise", items_in=8, items_out=8, calls=2, busy_seconds=0.02, finished_calls=2),
        StageStats("store", items_in=8, items_out=0, calls=8, failed=1, busy_seconds=0.0, finished_calls=8),
    ],
    delivered=0,
)

SNAPSHOTS = Path(__file__).parent / "snapshots"
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot program is not installed")


def assert_snapshot(name: str, text: str) -> None:
    path = SNAPSHOTS / f"{name}.dot"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no snapshot {path.name}: run with UPDATE_SNAPSHOTS=1 to create it"
    expected = path.read_text(encoding="utf-8")
    assert text == expected, f"{path.name} differs: if the change is intended, run with UPDATE_SNAPSHOTS=1"


# -- DOT -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "pipeline", "stats"),
    [
        ("simple", SIMPLE, None),
        ("rich", RICH, None),
        ("rich_with_stats", RICH, STATS),
        ("mismatch", MISMATCH, None),
        ("source_first", SOURCE_FIRST, None),
    ],
)
def test_dot_snapshots(name: str, pipeline: Pipeline[Any, Any], stats: RunStats | None) -> None:
    assert_snapshot(name, to_dot(pipeline, stats=stats))


def test_dot_is_deterministic_and_free_of_memory_addresses() -> None:
    class Opaque:  # its repr has a memory address
        pass

    @single_task
    def tag(x: int, marker: Opaque) -> int:
        return x

    first = (parse | tag.with_inputs(marker=Opaque())).to_dot()
    second = (parse | tag.with_inputs(marker=Opaque())).to_dot()
    assert first == second
    assert "0x" not in first
    assert RICH.to_dot() == RICH.to_dot()


def test_visual_grammar_in_the_dot_source() -> None:
    dot = RICH.to_dot()
    assert "rankdir=LR" in dot
    assert "<B>scale</B>" in dot and "concurrency_limit=4" in dot
    assert "on_error=skip_item" in dot and "retry_attempts=3" in dot
    assert "batch 2..10, max_wait=0.5s" in dot
    # the long type is shortened on the edge, complete in the tooltip
    assert "label=\"dict[str, list[tuple[…]]]\"" in dot
    assert "tooltip=\"dict[str, list[tuple[int, str, float]]]\"" in dot
    # side inputs: a yellow square box (the legend's swatch), dashed edge labelled parameter: type
    side_box = '<TABLE BORDER="1" CELLBORDER="0" CELLSPACING="1" CELLPADDING="2" BGCOLOR="#FFF6D5" COLOR="#B8860B">'
    assert re.search(r'"stage-1.factor" \[label=<' + re.escape(side_box) + r'.*value.*3<.*shape=plain', dot)
    assert re.search(r'"stage-1.names" \[label=<.*pipeline.*city_names<.*shape=plain', dot)
    assert re.search(r'"stage-1.names" -> "stage-1" \[label="names: list\[str\]" .*style=dashed', dot)
    assert re.search(r'"stage-1.factor" -> "stage-1" \[label="factor: int" .*style=dashed', dot)
    legend_swatch = '<TABLE BORDER="1" CELLBORDER="0" CELLSPACING="1" CELLPADDING="1" BGCOLOR="#FFF6D5" COLOR="#B8860B">'
    assert legend_swatch in dot and "shape=note" not in dot
    assert 'label="no output"' in dot and "legend" in dot


def test_a_custom_error_handler_shows_in_the_task_box() -> None:
    from conveyor import ErrorHandler, LoggingErrorHandler

    class Quarantine(ErrorHandler):
        async def handle_error(self, error: Exception, item: Any, task_name: str, attempt: int) -> tuple[bool, Any]:
            return True, None

    @single_task(error_handler=Quarantine())
    def risky(x: int) -> int:
        return x

    @single_task(error_handler=LoggingErrorHandler())
    def logged(x: int) -> int:
        return x

    dot = (risky | logged).to_dot()
    assert "error_handler=Quarantine" in dot and "error_handler=LoggingErrorHandler" in dot
    assert "single, error_handler=Quarantine" in (risky | logged).outline()


def test_mismatch_edge_is_red_with_both_types() -> None:
    graph = to_graphviz(MISMATCH)
    (edge,) = [line for line in graph.body if '"stage-0" -> "stage-1"' in line]
    assert 'color="#D62728"' in edge
    assert "outputs <B>int</B><BR/>expects <B>str</B>" in edge
    assert "pipeline stage mismatch" in edge  # the full message is the tooltip


def test_stats_must_belong_to_the_pipeline() -> None:
    with pytest.raises(ValueError, match="not for this pipeline's stages"):
        to_dot(SIMPLE, stats=STATS)


def test_legend_can_be_left_out() -> None:
    assert "legend" not in to_dot(RICH, legend=False)


def test_short_type() -> None:
    assert short_type(int) == "int"
    assert short_type(dict[str, list[tuple[int, str, float]]]) == "dict[str, list[tuple[…]]]"
    assert short_type(dict[str, list[tuple[int, str, float]]], limit=20) == "dict[str, list[…]]"
    assert short_type(dict[str, list[tuple[int, str, float]]], limit=12) == "dict[…]"
    assert short_type(dict[str, int], limit=5) == "dict…"
    assert len(short_type("A | B | C | D | E | F | G | H | I | J | K | L")) == 32


async def test_awaitable_side_input_node() -> None:
    @single_task
    def use(x: int, config: dict[str, int]) -> int:
        return x

    pending = asyncio.sleep(0, result={"a": 1})
    try:
        dot = (parse | use.with_inputs(config=pending)).to_dot()
    finally:
        pending.close()  # never awaited: close it so it does not warn
    assert re.search(r'"stage-1.config" \[label=<.*awaitable</FONT>.*coroutine</FONT>', dot)
    assert 'label="config: dict[str, int]"' in dot


def test_render_module_is_loaded_lazily() -> None:
    code = "import sys, conveyor; assert 'conveyor.render' not in sys.modules and 'graphviz' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# -- real Graphviz output ----------------------------------------------------------------------

SVG = "{http://www.w3.org/2000/svg}"


def svg_tree(pipeline: Pipeline[Any, Any], stats: RunStats | None = None) -> ET.Element:
    return ET.fromstring(mimebundle(pipeline)["image/svg+xml"] if stats is None else
                         to_graphviz(pipeline, stats=stats).pipe(format="svg"))


def texts(element: ET.Element) -> list[str]:
    return [t.text or "" for t in element.iter(f"{SVG}text")]


def groups(root: ET.Element, cls: str) -> dict[str, ET.Element]:
    found = {}
    for group in root.iter(f"{SVG}g"):
        if group.get("class") == cls:
            title = group.find(f"{SVG}title")
            assert title is not None
            found[title.text or ""] = group
    return found


@needs_dot
def test_svg_has_nodes_edge_labels_and_legend() -> None:
    root = svg_tree(RICH, STATS)
    nodes = groups(root, "node")
    assert {"source", "stage-0", "stage-1", "stage-2", "stage-3", "stage-1.factor", "stage-1.names", "sink"} <= set(nodes)
    assert "scale" in texts(nodes["stage-1"])
    assert "concurrency_limit=4" in texts(nodes["stage-1"])
    assert "city_names" in texts(nodes["stage-1.names"])
    stats_text = " ".join(texts(nodes["stage-1"]))
    assert "skipped 1" in stats_text and "retries 2" in stats_text and "mean 200.0 ms" in stats_text
    assert "failed 1" in " ".join(texts(nodes["stage-3"]))
    edges = groups(root, "edge")
    assert "int" in texts(edges["stage-0->stage-1"])
    assert texts(edges["stage-1.names->stage-1"]) == ["names: list[str]"]
    everything = " ".join(texts(root))
    assert "legend" in everything and "items, labelled with their type" in everything


@needs_dot
def test_svg_mismatch_edge_is_red() -> None:
    root = svg_tree(MISMATCH)
    edge = groups(root, "edge")["stage-0->stage-1"]
    strokes = {path.get("stroke") for path in edge.iter(f"{SVG}path")}
    assert strokes == {"#d62728"}
    label = " ".join(texts(edge))
    assert "outputs" in label and "int" in label and "expects" in label and "str" in label
    assert "type mismatch: outputs X / expects Y" in " ".join(texts(root))
    ok_edge = groups(root, "edge")["stage-1->stage-2"]
    assert {path.get("stroke") for path in ok_edge.iter(f"{SVG}path")} != {"#d62728"}


@needs_dot
@pytest.mark.parametrize(("suffix", "magic"), [("svg", b"<?xml"), ("png", b"\x89PNG"), ("pdf", b"%PDF"), ("dot", b"digraph")])
def test_render_writes_the_format_of_the_suffix(tmp_path: Path, suffix: str, magic: bytes) -> None:
    path = RICH.render(tmp_path / f"rich.{suffix}", stats=STATS)
    assert path == tmp_path / f"rich.{suffix}"
    assert path.read_bytes().startswith(magic)


@needs_dot
def test_render_format_overrides_the_suffix(tmp_path: Path) -> None:
    path = render(RICH, tmp_path / "diagram.out", format="svg")
    assert path.read_bytes().startswith(b"<?xml")


def test_render_needs_a_known_format(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot tell the image format"):
        RICH.render(tmp_path / "diagram")
    with pytest.raises(ValueError, match="unknown image format 'jpeg'"):
        RICH.render(tmp_path / "diagram.jpeg")


# -- without Graphviz's dot --------------------------------------------------------------------


@pytest.fixture
def no_dot(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no `dot` anywhere


@pytest.mark.usefixtures("no_dot")
def test_missing_dot_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(GraphvizNotFound) as raised:
        RICH.render(tmp_path / "rich.svg")
    message = str(raised.value)
    assert isinstance(raised.value, RuntimeError)
    assert "apt-get install graphviz" in message and "brew install graphviz" in message and "conda" in message
    assert "to_dot() still works" in message
    assert not (tmp_path / "rich.svg").exists()
    assert RICH.to_dot().startswith("digraph pipeline {")  # needs no program
    assert (RICH.render(tmp_path / "rich.dot")).read_text().startswith("digraph")


@pytest.mark.usefixtures("no_dot")
def test_notebook_display_falls_back_to_text_without_dot() -> None:
    assert RICH._repr_mimebundle_() == {"text/plain": repr(RICH)}


# -- Jupyter -------------------------------------------------------------------------------------


@needs_dot
def test_notebook_display_is_svg_and_text() -> None:
    bundle = RICH._repr_mimebundle_()
    assert set(bundle) == {"image/svg+xml", "text/plain"}
    assert bundle["text/plain"] == "<Pipeline parse | scale | summarise | store>"
    assert "<svg" in bundle["image/svg+xml"] and "scale" in bundle["image/svg+xml"]
    assert set(RICH._repr_mimebundle_(include={"text/plain"})) == {"text/plain"}
    assert set(RICH._repr_mimebundle_(exclude={"image/svg+xml"})) == {"text/plain"}


# -- outline ---------------------------------------------------------------------------------------


def test_outline() -> None:
    assert RICH.outline().splitlines() == [
        "pipeline parse | scale | summarise | store",
        "  input: str",
        "  1. parse      single                                                             str -> int",
        "  2. scale      single, concurrency_limit=4, on_error=skip_item, retry_attempts=3  "
        "int -> dict[str, list[tuple[int, str, float]]]",
        "     side input factor: int <- value 3",
        "     side input names: list[str] <- pipeline city_names",
        "  3. summarise  batch 2..10, max_wait=0.5s                                         "
        "dict[str, list[tuple[int, str, float]]] -> str",
        "  4. store      single                                                             str -> nothing",
        "  output: none (the last stage is a sink)",
    ]


def test_outline_marks_mismatches_and_sources() -> None:
    lines = MISMATCH.outline().splitlines()
    assert lines[2:5] == [
        "  1. parse  single  str -> int",
        "  !! type mismatch: parse outputs int / shout expects str",
        "  2. shout  single  str -> str",  # what shout declares; the mismatch line says what arrives
    ]
    assert SOURCE_FIRST.outline().splitlines()[1] == "  input: none (the first stage is a source)"


async def test_stream_side_input_node_is_named_after_its_pipeline() -> None:
    @single_task
    def use(x: int, names: list[str]) -> int:
        return x

    stream = city_names()
    dot = (parse | use.with_inputs(names=stream)).to_dot()
    assert re.search(r'"stage-1.names" \[label=<.*stream</FONT>.*city_names</FONT>', dot)
    assert 'tooltip="side input names: stream city_names (list[str])"' in dot
