"""The API reference matches the package: every public name is documented, every
name documented as importable from ``conveyor`` is, and no docstring or page shows
a literal Sphinx role (the docs are Markdown)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import conveyor

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "docs" / "reference.md"
DIRECTIVE = re.compile(r"^::: ([\w.]+)\s*$", re.MULTILINE)
ROLE = re.compile(r":(?:py:)?(?:func|mod|class|meth|attr|data|exc|obj|const|ref):`")


def documented() -> list[str]:
    return DIRECTIVE.findall(REFERENCE.read_text())


def resolve(path: str) -> Any:
    """The object at a dotted path: the longest importable module, then attributes."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            target = getattr(target, name)
        return target
    raise ImportError(path)


def test_every_public_name_is_in_the_reference() -> None:
    names = {path.removeprefix("conveyor.") for path in documented() if path.count(".") == 1}
    assert set(conveyor.__all__) <= names, sorted(set(conveyor.__all__) - names)


def test_every_name_the_reference_gives_as_conveyor_x_is_importable_from_conveyor() -> None:
    top = [path.removeprefix("conveyor.") for path in documented() if path.count(".") == 1]
    assert top
    submodules = {"progress", "render", "cli"}
    for name in top:
        if name in submodules:
            continue
        assert name in conveyor.__all__, f"conveyor.{name} is documented but not in conveyor.__all__"
        namespace: dict[str, Any] = {}
        exec(f"from conveyor import {name}", namespace)  # noqa: S102  # the way the page says
        assert namespace[name] is not None


def test_every_reference_entry_resolves() -> None:
    for path in documented():
        resolve(path)


def test_the_views_the_issue_lists_are_documented() -> None:
    paths = set(documented())
    assert {"conveyor.progress.show", "conveyor.render.render", "conveyor.render.to_dot",
            "conveyor.render.outline", "conveyor.OnError", "conveyor.TypecheckMode", "conveyor.cli.main"} <= paths
    text = REFERENCE.read_text()
    assert "conveyor_mypy" in text and "CONVEYOR_MYPY_DEBUG" in text and "disable_error_code" in text


def test_no_sphinx_roles_in_docstrings_or_docs() -> None:
    # The package's modules and the run figures (what the reference renders), the
    # plugin and every page. The scheduler's internals (conveyor/runtime/ but stats)
    # are rendered nowhere and are left to the runtime's own work.
    files = [*ROOT.glob("conveyor/*.py"), ROOT / "conveyor" / "runtime" / "stats.py", *ROOT.glob("plugins/**/*.py"),
             *ROOT.glob("docs/**/*.md"), ROOT / "README.md", ROOT / "ARCHITECTURE.md", ROOT / "CHANGELOG.md"]
    offenders = [f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 1}"
                 for path in files for text in [path.read_text()] for m in ROLE.finditer(text)]
    assert not offenders, offenders
