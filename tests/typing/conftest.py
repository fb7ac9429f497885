"""Settings for the YAML cases here (pytest-mypy-plugins; each case is one mypy run).

- They run the ``mypy`` program: find it next to the interpreter running the tests
  (``.venv/bin``), also when the venv is not activated (as in ``./dev test``).
- mypy's cache for them lives in a folder of this checkout's own under the system's
  temporary directory (not the shared default), so that two checkouts never share it.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from pathlib import Path

import pytest


def pytest_configure(config: pytest.Config) -> None:
    option = config.option
    if getattr(option, "mypy_testing_base", None) == tempfile.gettempdir():
        tag = hashlib.sha256(str(config.rootpath).encode()).hexdigest()[:12]
        base = Path(tempfile.gettempdir()) / f"conveyor-mypy-cases-{tag}"
        base.mkdir(exist_ok=True)
        option.mypy_testing_base = str(base)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    bin_dir = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    if bin_dir not in path.split(os.pathsep):
        item.stash[_SAVED_PATH] = path
        os.environ["PATH"] = bin_dir + os.pathsep + path


def pytest_runtest_teardown(item: pytest.Item) -> None:
    saved = item.stash.get(_SAVED_PATH, None)
    if saved is not None:
        os.environ["PATH"] = saved


_SAVED_PATH = pytest.StashKey[str]()
