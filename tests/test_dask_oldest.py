"""The dask extra's lower bound (``distributed>=2024.8`` in pyproject.toml) is a claim:
the Dask tests run again on that release, in the side virtualenv ``./dev setup`` makes
(``CONVEYOR_OLDEST_DASK``: its Python, with distributed 2024.8.0)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OLDEST = os.environ.get("CONVEYOR_OLDEST_DASK", "")


@pytest.mark.skipif(not OLDEST, reason="set CONVEYOR_OLDEST_DASK to a Python with distributed 2024.8.0 (./dev test does)")
def test_the_dask_tests_pass_on_the_oldest_distributed_the_extra_allows() -> None:
    version = subprocess.run(
        [OLDEST, "-c", "import distributed; print(distributed.__version__)"],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout.strip()
    assert version == "2024.8.0"
    done = subprocess.run(
        [OLDEST, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_dask.py"],
        capture_output=True, text=True, timeout=900, cwd=ROOT,
    )
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert re.search(r"\d+ passed", summary) and "skipped" not in summary, summary
