"""Every Python code block in docs/ and README.md runs, so no documented example can be wrong.

Blocks of one page run in order in one namespace (like cells of a notebook), with
top-level ``await`` allowed. A block whose fence is ```python title="..." or plain
```python runs; other languages (bash, text, toml) are not Python and are skipped.
"""

from __future__ import annotations

import ast
import asyncio
import re
from pathlib import Path
from typing import Any

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
FENCE = re.compile(r"^```python[^\n]*\n(.*?)^```", re.DOTALL | re.MULTILINE)


def python_blocks(page: Path) -> list[tuple[int, str]]:
    text = page.read_text()
    return [(text.count("\n", 0, m.start()) + 2, m.group(1)) for m in FENCE.finditer(text)]


README = DOCS.parent / "README.md"
PAGES = sorted(p for p in DOCS.rglob("*.md") if python_blocks(p))


async def run_page(page: Path) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": f"docs_{page.stem.replace('-', '_')}"}
    for line, source in python_blocks(page):
        # Pad so tracebacks point at the block's line in the Markdown file.
        code = compile("\n" * (line - 1) + source, str(page), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        result = eval(code, namespace)  # noqa: S307  # the docs are ours
        if asyncio.iscoroutine(result):
            await result
    return namespace


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(DOCS)) for p in PAGES])
async def test_docs_page_runs(page: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    await run_page(page)


def test_readme_examples_run() -> None:
    """The README's blocks are scripts (they call asyncio.run), so they run outside a loop."""
    blocks = python_blocks(README)
    assert blocks
    namespace: dict[str, Any] = {"__name__": "readme"}
    for line, source in blocks:
        exec(compile("\n" * (line - 1) + source, str(README), "exec"), namespace)  # noqa: S102


def test_docs_have_examples() -> None:
    assert len(PAGES) >= 5
