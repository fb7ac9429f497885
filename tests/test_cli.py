"""The ``conveyor`` command line: check, render, outline; exit codes and messages."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conveyor.cli import EXIT_MISMATCH, EXIT_OK, EXIT_USAGE, main

FLOWS = '''\
from conveyor import single_task


@single_task
def parse(line: str) -> int:
    return int(line)


@single_task
def shout(text: str) -> str:
    return text.upper()


@single_task
def half(x: float) -> float:
    return x / 2


NUMBER = 3
ok = parse | half
bad = parse | shout
worse = parse | shout | half
'''

GOOD = '''\
from conveyor import single_task


@single_task
def parse(line: str) -> int:
    return int(line)


@single_task
def half(x: float) -> float:
    return x / 2


flow = parse | half
'''


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder with modules, as the current directory; sys.path and sys.modules restored after."""
    (tmp_path / "flows.py").write_text(FLOWS)
    (tmp_path / "good.py").write_text(GOOD)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        del sys.modules[name]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def line_of(text: str, source: str = FLOWS) -> int:
    return source.splitlines().index(text) + 1


# -- check ---------------------------------------------------------------------------------------


@pytest.mark.usefixtures("project")
def test_check_ok(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "good:flow")
    assert code == EXIT_OK
    assert out == "ok: good:flow: parse | half (2 stages, the types fit)\n"


@pytest.mark.usefixtures("project")
def test_check_reports_a_strict_mismatch_at_its_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "flows:bad")
    assert code == EXIT_MISMATCH
    first = out.splitlines()[0]
    assert first.startswith(f"flows.py:{line_of('bad = parse | shout')}: pipeline stage mismatch: 'parse'")
    assert "expects str for parameter 'text'" in first
    assert "bad = parse | shout" in out
    # the module cannot be imported, whichever pipeline was asked for
    code, out, _ = run(capsys, "check", "flows:ok")
    assert code == EXIT_MISMATCH and "the module stops at this type mismatch" in out


@pytest.mark.usefixtures("project")
def test_check_lax_reports_every_mismatch_of_the_target(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "--lax", "flows:worse")
    assert code == EXIT_MISMATCH
    where = f"flows.py:{line_of('worse = parse | shout | half')}:"
    reports = [line for line in out.splitlines() if line.startswith("flows.py:")]
    assert len(reports) == 2 and all(line.startswith(where) for line in reports)
    assert "'shout' (flows.py:9) outputs str but 'half'" in reports[1]
    assert out.endswith("flows:worse: 2 type mismatches\n")
    code, out, _ = run(capsys, "check", "--lax", "flows:bad")
    assert code == EXIT_MISMATCH and out.startswith(f"flows.py:{line_of('bad = parse | shout')}:")
    assert run(capsys, "check", "--lax", "flows:ok")[0] == EXIT_OK


@pytest.mark.usefixtures("project")
def test_a_task_is_a_one_stage_pipeline(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "--lax", "flows:parse")
    assert code == EXIT_OK and "parse (1 stage, the types fit)" in out


@pytest.mark.usefixtures("project")
def test_a_file_path_and_the_only_pipeline_of_a_module(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "check", "./good.py:flow")[0] == EXIT_OK
    code, out, _ = run(capsys, "check", "good")
    assert code == EXIT_OK and "good: parse | half" in out


# -- usage errors ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("project")
@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("nowhere:flow", "no module named 'nowhere'"),
        ("good:nope", "good has no attribute 'nope'; pipelines and tasks there: flow, half, parse"),
        ("good:", "bad target 'good:'"),
        ("missing.py:flow", "no such file: missing.py"),
        ("flows", "which pipeline of flows? name it as flows:NAME; it has: bad, ok, worse"),
    ],
)
def test_usage_errors(capsys: pytest.CaptureFixture[str], target: str, message: str) -> None:
    code, out, err = run(capsys, "check", "--lax", target)
    assert code == EXIT_USAGE
    assert out == ""
    assert err.startswith("conveyor check: error: ") and message in err


@pytest.mark.usefixtures("project")
def test_an_attribute_that_is_not_a_pipeline(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "outline", "flows:NUMBER")
    assert code == EXIT_USAGE
    assert "flows:NUMBER is an int, not a pipeline or a task" in err


def test_a_module_that_fails_to_import(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "broken.py").write_text("import conveyor\n\nvalue = 1 / 0\n")
    (project / "needy.py").write_text("import not_installed_anywhere\n")
    code, _, err = run(capsys, "check", "broken:flow")
    assert code == EXIT_USAGE
    assert "importing broken failed" in err and "ZeroDivisionError: division by zero" in err
    assert 'broken.py", line 3' in err and "cli.py" not in err  # the user's frames only
    code, _, err = run(capsys, "check", "needy:flow")
    assert code == EXIT_USAGE
    assert "importing needy failed" in err and "No module named 'not_installed_anywhere'" in err


def test_the_command_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([])
    assert exited.value.code == EXIT_USAGE
    assert "COMMAND" in capsys.readouterr().err


# -- render and outline ------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz's dot")
def test_render_draws_the_mismatch_in_red(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "render", "flows:worse", "-o", "worse.svg")
    assert code == EXIT_OK
    assert out == "wrote worse.svg (2 type mismatches drawn in red)\n"
    svg = (project / "worse.svg").read_text()
    assert svg.startswith("<?xml") and 'stroke="#d62728"' in svg
    code, out, _ = run(capsys, "render", "good:flow", "-o", "flow.picture", "--format", "png")
    assert code == EXIT_OK and (project / "flow.picture").read_bytes().startswith(b"\x89PNG")


def test_render_dot_source_and_format_errors(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "render", "good:flow", "-o", "flow.dot")[0] == EXIT_OK
    assert (project / "flow.dot").read_text().startswith("digraph pipeline {")
    code, _, err = run(capsys, "render", "good:flow", "-o", "flow")
    assert code == EXIT_USAGE and "cannot tell the image format" in err


def test_render_without_dot(project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(project))
    code, _, err = run(capsys, "render", "good:flow", "-o", "flow.svg")
    assert code == EXIT_USAGE
    assert "apt-get install graphviz" in err and "to_dot() still works" in err


@pytest.mark.usefixtures("project")
def test_outline(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "outline", "flows:worse")
    assert code == EXIT_OK
    assert out.splitlines() == [
        "pipeline parse | shout | half",
        "  input: str",
        "  1. parse  single  str -> int",
        "  !! type mismatch: parse outputs int / shout expects str",
        "  2. shout  single  str -> str",
        "  !! type mismatch: shout outputs str / half expects float",
        "  3. half   single  float -> float",
        "  output: float",
    ]


# -- as a program ------------------------------------------------------------------------------------


def program(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CONVEYOR_TYPECHECK"}
    return subprocess.run(args, cwd=project, capture_output=True, text=True, env=env, timeout=60)


def test_python_dash_m_conveyor(project: Path) -> None:
    done = program(project, sys.executable, "-m", "conveyor", "check", "flows:bad")
    assert done.returncode == EXIT_MISMATCH, done.stderr
    assert done.stdout.startswith(f"flows.py:{line_of('bad = parse | shout')}: pipeline stage mismatch")
    done = program(project, sys.executable, "-m", "conveyor", "check", "flows:nope", "--lax")
    assert done.returncode == EXIT_USAGE and "has no attribute 'nope'" in done.stderr


def test_console_script(project: Path) -> None:
    script = Path(sys.executable).with_name("conveyor")
    if not script.exists():
        pytest.skip("the conveyor script is not installed (pip install -e .)")
    done = program(project, str(script), "check", "good:flow")
    assert (done.returncode, done.stdout) == (EXIT_OK, "ok: good:flow: parse | half (2 stages, the types fit)\n")
    done = program(project, str(script), "--version")
    assert done.returncode == 0 and done.stdout.startswith("conveyor ")
