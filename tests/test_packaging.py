"""The release files: build the sdist and the wheel as a release would (``python -m
build``, without isolation so the test needs no network) and check what is in them."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

import conveyor

ROOT = Path(__file__).resolve().parent.parent

pytest.importorskip("build")
pytest.importorskip("hatchling")


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--wheel", "--no-isolation", "--outdir", str(out), str(ROOT)],
        check=True, capture_output=True, text=True,
    )
    return out


def test_the_sdist_has_the_sources_but_not_the_checkout_tooling(dist: Path) -> None:
    (sdist,) = dist.glob("*.tar.gz")
    assert sdist.name == f"conveyor-{conveyor.__version__}.tar.gz"
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for wanted in ("pyproject.toml", "README.md", "LICENSE", "CHANGELOG.md", "conveyor/__init__.py",
                   "conveyor/py.typed", "plugins/conveyor_mypy/__init__.py", "tests/test_packaging.py"):
        assert wanted in names, wanted
    assert "dev" not in names
    assert not [name for name in names if name.startswith(".ci/") or name == ".ci"]
    assert not [name for name in names if name.startswith((".venv", "site/", "build/")) or "__pycache__" in name]


def test_the_wheel_has_the_typed_packages_and_the_metadata(dist: Path) -> None:
    (wheel,) = dist.glob("*.whl")
    assert wheel.name == f"conveyor-{conveyor.__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        info = f"conveyor-{conveyor.__version__}.dist-info"
        metadata = Parser().parsestr(archive.read(f"{info}/METADATA").decode())
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
    assert "conveyor/py.typed" in names
    assert "conveyor/progress.py" in names and "conveyor/runtime/stage.py" in names
    assert "conveyor_mypy/__init__.py" in names
    assert f"{info}/licenses/LICENSE" in names
    assert not [name for name in names if name.startswith(("tests/", "docs/", "benchmarks/", "examples/"))]
    assert metadata["Version"] == conveyor.__version__
    assert metadata["License-Expression"] == "MIT"
    classifiers = metadata.get_all("Classifier") or []
    assert "Typing :: Typed" in classifiers and "Framework :: AsyncIO" in classifiers
    urls = dict(url.split(", ", 1) for url in metadata.get_all("Project-URL") or [])
    assert {"Homepage", "Documentation", "Source", "Issues", "Changelog"} <= set(urls)
    assert metadata["Description-Content-Type"] == "text/markdown"
    assert "conveyor = conveyor.cli:main" in entry_points
