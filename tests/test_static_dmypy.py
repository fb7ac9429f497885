"""The mypy daemon (dmypy, what editors' mypy integrations run) with the plugin reports
the same errors as mypy, also after edits (fine-grained incremental checks)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_corpus import CORPUS
from tests.test_static_mypy import MYPY_CONFIG, run_mypy

BAD = "bad_subpipeline_variables.py"  # a bad pipe between two pipelines held in variables
GOOD = "good_composition_forms.py"


class Daemon:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.status = workdir / "dmypy.json"

    def run(self, *files: str) -> list[str]:
        completed = self._dmypy("run", "--", "--config-file", str(MYPY_CONFIG), *files)
        assert completed.returncode in (0, 1), f"dmypy failed ({completed.returncode}): {completed.stdout}{completed.stderr}"
        return [line for line in completed.stdout.splitlines() if ": error: " in line or ": note: " in line]

    def stop(self) -> None:
        if not self.status.exists():
            return
        pid = json.loads(self.status.read_text()).get("pid")
        completed = self._dmypy("stop")
        if completed.returncode != 0 and isinstance(pid, int):
            os.kill(pid, signal.SIGTERM)  # only the daemon this test started

    def _dmypy(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mypy.dmypy", "--status-file", str(self.status), *args],
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=240,
        )


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    for name in (BAD, GOOD):
        shutil.copy(CORPUS / name, tmp_path / name)
    running = Daemon(tmp_path)
    try:
        yield running
    finally:
        running.stop()


def test_dmypy_reports_what_mypy_reports_and_follows_edits(daemon: Daemon, tmp_path: Path) -> None:
    bad, good = tmp_path / BAD, tmp_path / GOOD
    expected = [
        f"{BAD}:{d.line}: error: {d.message}  [{d.code}]"
        for d in run_mypy([bad, good], plugin=True).errors
    ]
    assert expected == [
        f"{BAD}:33: error: pipeline stage mismatch: 'measure' outputs float but 'shout' expects str  [pipeline-mismatch]"
    ]

    assert daemon.run(BAD, GOOD) == expected

    original = bad.read_text()
    bad.write_text(original.replace("pipeline = front | back", "pipeline = back | back"))
    assert daemon.run(BAD, GOOD) == []

    bad.write_text(original)
    assert daemon.run(BAD, GOOD) == expected
