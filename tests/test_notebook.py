"""conveyor in a real notebook: nbclient runs a notebook on an IPython kernel and the
test reads the display data the kernel sent back, as Jupyter would show it."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

CELLS = [
    """
    import asyncio
    from conveyor import batch_task, single_task

    @single_task(concurrency_limit=4)
    async def parse(line: str) -> int:
        await asyncio.sleep(0.001)
        return int(line)

    @batch_task(max_size=10)
    def total(numbers: list[int]) -> int:
        return sum(numbers)

    pipeline = parse | total
    """,
    # top-level await, with progress: a display updated in place, its last frame kept
    """
    stream = pipeline([str(i) for i in range(100)], progress=True)
    results = await stream.collect()
    print(results[:3])
    """,
    "stream.stats",
    "parse",
    "pipeline",
]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> list[list[dict[str, Any]]]:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(textwrap.dedent(source).strip()) for source in CELLS]
    folder: Path = tmp_path_factory.mktemp("notebook")
    client = nbclient.NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    )
    client.execute()
    return [cell["outputs"] for cell in notebook.cells]


def data_of(outputs: list[dict[str, Any]], mime: str) -> list[str]:
    return [out["data"][mime] for out in outputs if mime in out.get("data", {})]


def test_progress_shows_as_html_and_its_last_frame_stays(outputs: list[list[dict[str, Any]]]) -> None:
    cell = outputs[1]
    assert [out["output_type"] for out in cell] == ["display_data", "stream"]  # one display, updated in place
    (frame,) = data_of(cell, "text/html")
    assert "conveyor: parse | total  [done" in frame and "100% of 100" in frame
    assert '<table class="conveyor-stats">' in frame
    assert frame.count('<progress value="100" max="100">') == 2  # a bar per stage, full at the end
    (text,) = data_of(cell, "text/plain")
    assert "\x1b" not in text and "in 100 · out 100" in text
    assert cell[1]["text"] == "[45, 145, 245]\n"  # the print is kept too


def test_stats_show_as_an_html_table(outputs: list[list[dict[str, Any]]]) -> None:
    (table,) = data_of(outputs[2], "text/html")
    assert table.startswith('<table class="conveyor-stats">')
    assert ">parse</td>" in table and ">100</td>" in table and "10 delivered" in table
    assert "<th" in table and ">in flight</th>" in table


def test_a_task_and_a_pipeline_show_as_diagrams(outputs: list[list[dict[str, Any]]]) -> None:
    (task_svg,) = data_of(outputs[3], "image/svg+xml")
    (pipeline_svg,) = data_of(outputs[4], "image/svg+xml")
    assert "<svg" in task_svg and ">parse<" in task_svg and ">total<" not in task_svg
    assert "<svg" in pipeline_svg and ">parse<" in pipeline_svg and ">total<" in pipeline_svg
    assert data_of(outputs[3], "text/plain")[0].startswith("<SingleTask 'parse'")
