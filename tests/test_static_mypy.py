"""mypy on the corpus (tests/corpus) and on the public API, with conveyor's plugin and without.

One corpus, three checkers: the runtime composition check (tests/test_corpus.py),
mypy (here) and pyright (tests/test_static_pyright.py) must agree on every ``|``
verdict and every side input. With the plugin mypy flags exactly the marked line of
every bad module, with the error code ``pipeline-mismatch`` for a mismatch at a ``|``
(the marker's very name) or at ``with_dead_letters`` (``# E: dead-letter``) or ``arg-type`` for a side input of the wrong type
(``# E: side-input``: ``with_inputs``'s own argument check), and nothing else. Plain typing (mypy without the plugin, pyright) agrees except on the recorded
cases that need the plugin's features.

mypy runs in this process, once per configuration over all the corpus modules and
tests/typing/plain_api.py (a few seconds each); the parity test below reads the same
build to hold the plugin's stage types equal to the runtime's (conveyor.stage_types),
task by task.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import tokenize
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.test_corpus import CORPUS, _execute, corpus_cases, corpus_kind

ROOT = Path(__file__).resolve().parent.parent
MYPY_CONFIG = ROOT / "tests" / "typing" / "mypy.ini"  # strict, and `plugins = conveyor_mypy`
PLAIN_API = ROOT / "tests" / "typing" / "plain_api.py"
CODE = "pipeline-mismatch"
#: mypy's error code for each kind of marked mistake.
CODES = {"pipeline-mismatch": CODE, "side-input": "arg-type", "dead-letter": CODE}

#: A route whose `then` takes the item type but not the type its TypeIs / TypeGuard
#: predicate narrows to: the narrowing overloads refuse it, and the plain-predicate one
#: (any predicate is one) then accepts it, handing `then` the item type. And the
#: overloads hand `otherwise` the whole item type, not what a TypeIs rules out.
NARROWING = "narrowed route branches (the overloads cannot narrow `otherwise`, nor refuse a `then` that takes the item type)"

#: Corpus cases plain typing cannot judge, and the plugin feature each one needs
#: (the issue's list: side inputs as awaitables/streams, exact output types, generic
#: tasks, readable messages). The pyright test records its own, equal or smaller, set.
PLAIN_MYPY_GAPS: dict[str, str] = {
    "good_side_inputs_raw": "side inputs passed as awaitables, pipelines or streams (plain typing: side(), as_list())",
    "good_unions": "exact output types (mypy joins `int | str` to `object` in overloads)",
    "good_route_by_type_union": "exact output types (mypy joins `int | str` to `object` in overloads)",
    "bad_route_narrowed_not_item": NARROWING,
    "good_route_type_is_rest": NARROWING,
    "bad_bounded_typevar": "generic tasks",
    "bad_constrained_typevar": "generic tasks",
    "bad_generic_identity_then_mismatch": "generic tasks",
    "bad_generic_sequence_first": "generic tasks",
}

_LINE = re.compile(r"^(?P<path>.+?\.py):(?P<line>\d+): (?P<severity>error|note): (?P<message>.*?)(?:  \[(?P<code>[\w-]+)\])?$")


@dataclass(frozen=True)
class Diagnostic:
    file: str  # the module's file name
    line: int
    message: str
    code: str | None


@dataclass
class MypyRun:
    errors: list[Diagnostic]
    notes: list[Diagnostic]
    build: Any  # mypy.build.BuildResult
    options: Any  # mypy.options.Options
    modules: dict[str, str]  # file name -> module name

    def tree(self, path: Path) -> Any:  # mypy.nodes.MypyFile
        return self.build.graph[self.modules[path.name]].tree

    def errors_in(self, path: Path) -> list[Diagnostic]:
        return [e for e in self.errors if e.file == path.name]


def run_mypy(files: list[Path], *, plugin: bool) -> MypyRun:
    """mypy in this process over ``files`` with the tests' strict config."""
    from mypy import build
    from mypy.main import process_options

    args = ["--config-file", str(MYPY_CONFIG), "--no-incremental", "--cache-dir", os.devnull, *map(str, files)]
    sources, options = process_options(args)
    if not plugin:
        options.plugins = []
    result = build.build(sources, options)
    errors, notes = _parse(result.errors)
    modules = {Path(source.path).name: source.module for source in sources if source.path}
    return MypyRun(errors, notes, result, options, modules)


def _parse(lines: list[str]) -> tuple[list[Diagnostic], list[Diagnostic]]:
    errors: list[Diagnostic] = []
    notes: list[Diagnostic] = []
    for text in lines:
        match = _LINE.match(text)
        assert match, f"unexpected mypy output line: {text}"
        diagnostic = Diagnostic(Path(match["path"]).name, int(match["line"]), match["message"], match["code"])
        (errors if match["severity"] == "error" else notes).append(diagnostic)
    return errors, notes


def marked_lines(path: Path) -> set[int]:
    """Lines with a comment starting with "E" (``# E``, ``# E: pipeline-mismatch``)."""
    marked = set()
    for token in tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline):
        if token.type == tokenize.COMMENT and re.match(r"#\s*E\b", token.string):
            marked.add(token.start[0])
    return marked


_CASES = corpus_cases()
_IDS = [path.stem for path, _ in _CASES]
_FILES = [path for path, _ in _CASES] + [PLAIN_API]


@pytest.fixture(scope="module")
def with_plugin() -> MypyRun:
    return run_mypy(_FILES, plugin=True)


@pytest.fixture(scope="module")
def plain() -> MypyRun:
    return run_mypy(_FILES, plugin=False)


# -- mypy with the plugin: every marked line, nothing else -----------------------------------------


@pytest.mark.parametrize(("path", "line"), _CASES, ids=_IDS)
def test_mypy_with_the_plugin_flags_exactly_the_marked_line(with_plugin: MypyRun, path: Path, line: int | None) -> None:
    errors = with_plugin.errors_in(path)
    if line is None:
        assert errors == [], f"{path.name}: a good module got errors: {errors}"
        return
    code = CODES[corpus_kind(path) or ""]
    assert [(e.line, e.code) for e in errors] == [(line, code)], (
        f"{path.name}: expected exactly one [{code}] error, on line {line}; got {errors}"
    )
    message = errors[0].message
    constants = _constants(path)
    if code == "arg-type":  # the parameter, or side()'s own argument (a pipeline that needs data)
        assert f'"{constants["PARAMETER"]}"' in message or 'to "side"' in message, message
        return
    if corpus_kind(path) == "dead-letter":  # the task and the branch, as the runtime's first line
        assert message.startswith("dead-letter branch mismatch: "), message
        for role in ("TASK", "BRANCH"):
            assert repr(constants[role]) in message, f"{path.name}: the message does not name {constants[role]!r}: {message}"
        return
    assert message.startswith("pipeline stage mismatch: "), message
    for role in ("PRODUCER", "CONSUMER"):  # the same two tasks the runtime names
        assert repr(constants[role]) in message, f"{path.name}: the message does not name {constants[role]!r}: {message}"


def test_the_plugin_adds_only_hints_as_notes(with_plugin: MypyRun) -> None:
    bad = {path.name: line for path, line in _CASES if line is not None}
    for note in with_plugin.notes:
        if note.file != PLAIN_API.name:
            assert bad.get(note.file) == note.line, f"a note away from a marked line: {note}"


# -- mypy without the plugin: plain typing, with its recorded gaps ---------------------------------


@pytest.mark.parametrize(("path", "line"), _CASES, ids=_IDS)
def test_plain_mypy_agrees_except_on_the_recorded_gaps(plain: MypyRun, path: Path, line: int | None) -> None:
    flagged = {e.line for e in plain.errors_in(path)}
    agrees = flagged == ({line} if line is not None else set())
    if path.stem in PLAIN_MYPY_GAPS:
        assert not agrees, f"{path.name} is judged right by plain mypy now: drop it from PLAIN_MYPY_GAPS"
    else:
        assert agrees, f"{path.name}: plain mypy flags lines {sorted(flagged)}, expected {[line] if line else []}"


# -- the public API under plain typing (and with the plugin: it must not flag more) ----------------


def test_plain_mypy_on_the_api_flags_exactly_the_marked_lines(plain: MypyRun) -> None:
    _assert_marked(plain, PLAIN_API)


def test_mypy_with_the_plugin_on_the_api_flags_exactly_the_marked_lines(with_plugin: MypyRun) -> None:
    _assert_marked(with_plugin, PLAIN_API)


def _assert_marked(run: MypyRun, path: Path) -> None:
    expected = marked_lines(path)
    assert expected, f"{path.name} has no marked line"
    flagged = {e.line for e in run.errors_in(path)}
    unexpected = [e for e in run.errors_in(path) if e.line not in expected]
    assert not unexpected, f"errors on unmarked lines of {path.name}: {unexpected}"
    assert flagged == expected, f"marked lines not flagged in {path.name}: {sorted(expected - flagged)}"


# -- the plugin mirrors the runtime's stage rules -------------------------------------------------


@pytest.mark.parametrize("path", [path for path, _ in _CASES], ids=_IDS)
def test_the_plugin_reads_every_task_as_the_runtime_does(with_plugin: MypyRun, path: Path) -> None:
    """For every module-level task: the plugin's input and output types are the
    runtime's ``task.types`` (conveyor.stage_types), spelled alike."""
    from conveyor.task import Task

    runtime = _runtime_namespace(path)
    static = dict(_static_stages(with_plugin, path))
    tasks = {name: value for name, value in vars(runtime).items() if isinstance(value, Task)}
    assert tasks, f"{path.name} has no module-level task"
    assert set(static) == set(tasks), f"{path.name}: the plugin sees tasks {sorted(static)}, the runtime {sorted(tasks)}"
    for name, task in tasks.items():
        expected = (_runtime_repr(task.types.input, source=task.is_source), _runtime_repr(task.types.output))
        assert static[name] == expected, f"{path.name}: task {name!r}: plugin {static[name]}, runtime {expected}"


def _runtime_namespace(path: Path) -> ModuleType:
    from conveyor import typecheck_mode

    with typecheck_mode("off"):  # a bad module's mismatch must not stop it half-way
        if corpus_kind(path) != "side-input":
            return _execute(path)
        return _execute(path, keep_going=TypeError)  # its marked line (the last) may still raise


def _runtime_repr(tp: object, *, source: bool = False) -> str:
    from conveyor.stage_types import NOTHING
    from conveyor.typerules import type_repr

    if source:
        return "Never"
    if tp is NOTHING:
        return "nothing"
    while typing.get_origin(tp) is typing.Annotated:  # mypy drops Annotated's metadata
        tp = typing.get_args(tp)[0]
    return type_repr(tp)


def _static_stages(run: MypyRun, path: Path) -> Iterator[tuple[str, tuple[str, str]]]:
    from types import SimpleNamespace

    from mypy.nodes import Decorator, Var

    from conveyor_mypy._stages import read_stage
    from conveyor_mypy._typeops import format_type

    api: Any = SimpleNamespace(options=run.options)  # all that format_type needs
    module = run.tree(path)
    assert module is not None
    for name, symbol in module.names.items():
        node = symbol.node
        typ = node.var.type if isinstance(node, Decorator) else node.type if isinstance(node, Var) else None
        stage = read_stage(typ) if typ is not None else None
        if stage is None or not stage.is_task:
            continue
        yield name, (format_type(stage.input, api), format_type(stage.output, api))


def _constants(path: Path) -> dict[str, str]:
    from tests.test_corpus import _string_constants

    return _string_constants(path)


def test_the_corpus_is_where_the_cases_are() -> None:
    assert all(path.parent == CORPUS for path, _ in _CASES)
    assert all(marked_lines(path) == ({line} if line else set()) for path, line in _CASES)


# -- other mypy versions (the oldest supported one, say) -------------------------------------------

#: Other mypy programs to run the plugin with, e.g. one installed in a side venv:
#: ``python -m venv /tmp/mypy-oldest && /tmp/mypy-oldest/bin/pip install "mypy==1.10.*"``,
#: then ``CONVEYOR_OTHER_MYPY=/tmp/mypy-oldest/bin/mypy``. They analyse this venv's
#: conveyor (--python-executable) and import the plugin from plugins/ (PYTHONPATH).
OTHER_MYPY = [path for path in os.environ.get("CONVEYOR_OTHER_MYPY", "").split(os.pathsep) if path]


@pytest.mark.skipif(not OTHER_MYPY, reason="set CONVEYOR_OTHER_MYPY to other mypy programs to check the plugin with them")
@pytest.mark.parametrize("mypy", OTHER_MYPY or ["-"])
def test_the_plugin_with_another_mypy(mypy: str) -> None:
    completed = subprocess.run(
        [mypy, "--config-file", str(MYPY_CONFIG), "--python-executable", sys.executable, "--no-incremental",
         "--no-error-summary", *map(str, _FILES)],
        capture_output=True, text=True, cwd=ROOT, timeout=600,
        env={**os.environ, "PYTHONPATH": str(ROOT / "plugins")},
    )
    assert completed.returncode in (0, 1), completed.stdout + completed.stderr
    errors, _ = _parse(completed.stdout.splitlines())
    for path, line in _CASES:
        flagged = [(e.line, e.code) for e in errors if e.file == path.name]
        assert flagged == ([(line, CODES[corpus_kind(path) or ""])] if line else []), f"{mypy}: {path.name}: {flagged}"
    assert {e.line for e in errors if e.file == PLAIN_API.name} == marked_lines(PLAIN_API)
