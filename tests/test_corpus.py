"""The pipeline type-check corpus: tests/corpus/*.py, one small module per case.

Each module composes pipelines at module level. ``good_*`` modules must import
cleanly. ``bad_*`` modules hold exactly one line marked with a trailing comment
naming the kind of mistake:

- ``# E: pipeline-mismatch``: a composition (``|`` or ``add``); importing the module
  must raise ``conveyor.PipelineTypeError`` from that very line, with a message naming
  the two tasks at the faulty junction (the module's ``PRODUCER`` / ``CONSUMER``);
- ``# E: side-input``: a side input of the wrong type (``with_inputs``); importing the
  module must raise a TypeError from that line (at composition, or when the marked
  line runs the pipeline and the side input resolves), naming the task and the
  parameter (``CONSUMER`` / ``PARAMETER``);
- ``# E: dead-letter``: a dead-letter branch that cannot take the task's ``Failed``
  records (``with_dead_letters``); importing the module must raise
  ``conveyor.PipelineTypeError`` from that line, naming the task and the branch's
  first stage (``TASK`` / ``BRANCH``).

The same corpus is meant for the static checkers (mypy plugin, pyright): reuse
:func:`corpus_cases` there. ``RUNTIME_GAPS`` records the bad cases the static
checkers reject but the composition check does not (yet): they must compose cleanly
here, so that a runtime that learns to reject them is noticed.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
import traceback
from pathlib import Path
from types import ModuleType

import pytest

import conveyor

CORPUS = Path(__file__).resolve().parent / "corpus"
MARK = "# E: pipeline-mismatch"
#: The kinds of mistake a bad module can mark, and the constants each must declare.
KINDS: dict[str, tuple[str, ...]] = {
    "pipeline-mismatch": ("PRODUCER", "CONSUMER"),
    "side-input": ("CONSUMER", "PARAMETER"),
    "dead-letter": ("TASK", "BRANCH"),
}
_MARK_RE = re.compile(r"#\s*E:\s*(?P<kind>pipeline-mismatch|side-input|dead-letter)\s*$")


def corpus_cases() -> list[tuple[Path, int | None]]:
    """Every corpus module with its marked line (1-based), or None for a good module.

    A module with more than one marked line is reported with its first; the
    well-formedness test below rejects such modules.
    """
    cases: list[tuple[Path, int | None]] = []
    for path in sorted(CORPUS.glob("*.py")):
        marked = _marked_lines(path)
        cases.append((path, marked[0] if marked else None))
    return cases


def _marked_lines(path: Path) -> list[int]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [number for number, line in enumerate(lines, start=1) if _MARK_RE.search(line)]


def corpus_kind(path: Path) -> str | None:
    """The kind of mistake a bad module marks ("pipeline-mismatch", "side-input"), or None."""
    for line in path.read_text(encoding="utf-8").splitlines():
        match = _MARK_RE.search(line)
        if match:
            return match["kind"]
    return None


def _string_constants(path: Path) -> dict[str, str]:
    """Module-level ``NAME = "text"`` assignments, read without running the module."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: dict[str, str] = {}
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            found[node.targets[0].id] = node.value.value
    return found


def _execute(path: Path, *, keep_going: type[Exception] | None = None) -> ModuleType:
    """Import ``path`` as a fresh module (registered in sys.modules only while it runs,
    so TypedDict / dataclass / get_type_hints can find its namespace). With
    ``keep_going``, such an error ends the module's code but still returns the module."""
    name = f"_conveyor_corpus_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        if keep_going is None or not isinstance(exc, keep_going):
            raise
    finally:
        sys.modules.pop(name, None)
    return module


def _frames_in(exc: BaseException, path: Path) -> list[traceback.FrameSummary]:
    frames = traceback.extract_tb(exc.__traceback__)
    return [f for f in frames if f.filename and Path(f.filename).resolve() == path.resolve()]


#: Bad cases only the static checkers reject (plain typing and the mypy plugin alike),
#: with what the composition check does not look at.
RUNTIME_GAPS: dict[str, str] = {}

_CASES = corpus_cases()
_GOOD = [path for path, line in _CASES if line is None]
_BAD = [(path, line) for path, line in _CASES if line is not None]


def _id(path: Path) -> str:
    return path.stem


# -- the corpus itself ---------------------------------------------------------------------


def test_corpus_is_not_empty() -> None:
    assert len(_GOOD) >= 10 and len(_BAD) >= 10, (len(_GOOD), len(_BAD))


@pytest.mark.parametrize("path", [path for path, _ in _CASES], ids=_id)
def test_case_is_well_formed(path: Path) -> None:
    marked = _marked_lines(path)
    constants = _string_constants(path)
    if path.stem.startswith("good_"):
        assert marked == [], f"good module {path.name} has marked lines {marked}"
    else:
        assert path.stem.startswith("bad_"), f"{path.name}: corpus modules are named good_* or bad_*"
        assert len(marked) == 1, f"bad module {path.name} needs exactly one marked line ('{MARK}'), has {marked}"
        kind = corpus_kind(path)
        assert kind is not None
        needed = KINDS[kind]
        assert all(constants.get(name) for name in needed), (
            f"bad module {path.name} must declare {' and '.join(f'{name} = ...' for name in needed)}"
        )
        line = path.read_text(encoding="utf-8").splitlines()[marked[0] - 1]
        if kind == "pipeline-mismatch":
            assert "|" in line or ".add(" in line, f"{path.name}:{marked[0]} is not a composition"
        elif kind == "dead-letter":
            assert ".with_dead_letters(" in line, f"{path.name}:{marked[0]} gives no dead-letter branch"
        else:
            assert ".with_inputs(" in line, f"{path.name}:{marked[0]} binds no side input"


def test_runtime_gaps_are_bad_cases() -> None:
    assert set(RUNTIME_GAPS) <= {path.stem for path, _ in _BAD}


def test_pipeline_type_error_exists() -> None:
    error = getattr(conveyor, "PipelineTypeError", None)
    assert error is not None, "conveyor.PipelineTypeError does not exist (yet)"
    assert isinstance(error, type) and issubclass(error, TypeError)


# -- running the cases -----------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _default_typecheck_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cases judge the default behaviour: ignore a type-check mode set in the environment."""
    monkeypatch.delenv("CONVEYOR_TYPECHECK", raising=False)


@pytest.mark.parametrize("path", _GOOD, ids=_id)
def test_good_case_composes(path: Path) -> None:
    _execute(path)  # any exception fails the test with its own traceback


@pytest.mark.parametrize(("path", "line"), _BAD, ids=[_id(p) for p, _ in _BAD])
def test_bad_case_raises_on_marked_line(path: Path, line: int) -> None:
    kind = corpus_kind(path)
    error: type[Exception] | None = (
        getattr(conveyor, "PipelineTypeError", None) if kind in ("pipeline-mismatch", "dead-letter") else TypeError
    )
    assert error is not None, "conveyor.PipelineTypeError does not exist (yet)"
    if path.stem in RUNTIME_GAPS:
        try:
            _execute(path)
        except error:
            pytest.fail(f"{path.name} is rejected at composition now: drop it from RUNTIME_GAPS")
        return
    try:
        _execute(path)
    except error as exc:
        caught: BaseException = exc
    except Exception as exc:  # a different error: show what happened instead
        frames = _frames_in(exc, path)
        where = f"line {frames[-1].lineno}" if frames else "outside the module"
        pytest.fail(
            f"{path.name}: expected {error.__name__} on line {line}, got "
            f"{type(exc).__name__} at {where}: {exc}"
        )
    else:
        pytest.fail(f"{path.name}: no {error.__name__}; the mistake on line {line} was accepted")

    frames = _frames_in(caught, path)
    assert frames, f"{path.name}: the traceback does not pass through the module"
    assert frames[-1].lineno == line, (
        f"{path.name}: raised from line {frames[-1].lineno}, expected the marked line {line}: {caught}"
    )
    constants = _string_constants(path)
    message = "\n".join([str(caught), *getattr(caught, "__notes__", ())])
    for role in KINDS[kind or ""]:
        assert constants[role] in message, f"{path.name}: message does not name the {role.lower()} {constants[role]!r}: {message}"
