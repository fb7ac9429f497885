"""pyright (plain typing: it never loads mypy plugins) on the corpus and on the public API.

pyright must agree with the runtime composition check on every ``|`` verdict of the
corpus, except the recorded cases that need the mypy plugin's features, and flag
exactly the marked lines of tests/typing/plain_api.py.

pyright runs once for all files. It is found as $PYRIGHT, on PATH, or next to this
interpreter (``pip install pyright``: the PyPI package bundles pyright and runs it
on the machine's Node.js; ``npm install pyright`` works too). Without it these tests
are skipped, saying so. tests/typing/pyright_messages.py pins what its messages say
for common mistakes (public types and the fix, no internals).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_corpus import corpus_cases
from tests.test_static_mypy import NARROWING, PLAIN_API, ROOT, marked_lines

PYRIGHT_CONFIG = ROOT / "tests" / "typing" / "pyrightconfig.json"
MESSAGES = ROOT / "tests" / "typing" / "pyright_messages.py"
#: conveyor's typed surface: pyright must find nothing wrong in it either. (The plugin
#: runs inside mypy only; mypy --strict checks it, in tests/test_static_rules.py.)
PACKAGE_FILES = [
    ROOT / "conveyor" / name for name in ("task.py", "pipeline.py", "decorators.py", "stream.py", "branching.py")
]

#: Corpus cases plain typing cannot judge in pyright, with the plugin feature each needs.
#: (pyright keeps `int | str` exact, so it reaches one case more than plain mypy.)
PYRIGHT_GAPS: dict[str, str] = {
    "good_side_inputs_raw": "side inputs passed as awaitables, pipelines or streams (plain typing: side(), as_list())",
    "bad_bounded_typevar": "generic tasks",
    "bad_constrained_typevar": "generic tasks",
    "bad_generic_identity_then_mismatch": "generic tasks",
    "bad_generic_sequence_first": "generic tasks",
    "bad_route_narrowed_not_item": NARROWING,
    "good_route_type_is_rest": NARROWING,
}

_CASES = corpus_cases()


def find_pyright() -> str | None:
    candidates = [os.environ.get("PYRIGHT"), shutil.which("pyright"), str(Path(sys.executable).parent / "pyright")]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


@pytest.fixture(scope="module")
def pyright_errors(pyright_messages: dict[str, dict[int, list[str]]]) -> dict[str, set[int]]:
    """File name -> the (1-based) lines pyright reports errors on."""
    return {name: set(lines) for name, lines in pyright_messages.items()}


@pytest.fixture(scope="module")
def pyright_messages() -> dict[str, dict[int, list[str]]]:
    """File name -> (1-based) line -> the messages of pyright's errors there."""
    pyright = find_pyright()
    if pyright is None:
        pytest.skip(
            "pyright is not installed: `pip install pyright` (needs Node.js on the machine) "
            "or `npm install pyright`, or point $PYRIGHT at it"
        )
    files = [str(path) for path, _ in _CASES] + [str(PLAIN_API), str(MESSAGES)] + [str(path) for path in PACKAGE_FILES]
    completed = subprocess.run(
        [pyright, "--outputjson", "-p", str(PYRIGHT_CONFIG), "--pythonpath", sys.executable, *files],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        env={**os.environ, "PYRIGHT_PYTHON_IGNORE_WARNINGS": "1"},  # the PyPI wrapper's update notice
    )
    try:
        report = json.loads(completed.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"pyright gave no report (exit {completed.returncode}): {completed.stdout}\n{completed.stderr}")
    errors: dict[str, dict[int, list[str]]] = {}
    for diagnostic in report["generalDiagnostics"]:
        if diagnostic["severity"] == "error":
            lines = errors.setdefault(_key(Path(diagnostic["file"])), {})
            lines.setdefault(diagnostic["range"]["start"]["line"] + 1, []).append(diagnostic["message"])
    return errors


def _key(path: Path) -> str:
    """Corpus and API modules by file name; package files by their path in the repository."""
    plain = path.parent.name == "corpus" or path.name in (PLAIN_API.name, MESSAGES.name)
    return path.name if plain else str(path.relative_to(ROOT))


@pytest.mark.parametrize(("path", "line"), _CASES, ids=[path.stem for path, _ in _CASES])
def test_pyright_agrees_with_the_runtime_except_on_the_recorded_gaps(
    pyright_errors: dict[str, set[int]], path: Path, line: int | None
) -> None:
    flagged = pyright_errors.get(path.name, set())
    agrees = flagged == ({line} if line is not None else set())
    if path.stem in PYRIGHT_GAPS:
        assert not agrees, f"{path.name} is judged right by pyright now: drop it from PYRIGHT_GAPS"
        if line is not None:  # a bad module it misses; a good one is flagged (false errors)
            assert flagged == set(), f"{path.name}: pyright flags lines {sorted(flagged)}"
    else:
        assert agrees, f"{path.name}: pyright flags lines {sorted(flagged)}, expected {[line] if line else []}"


def test_pyright_on_the_api_flags_exactly_the_marked_lines(pyright_errors: dict[str, set[int]]) -> None:
    expected = marked_lines(PLAIN_API)
    flagged = pyright_errors.get(PLAIN_API.name, set())
    assert flagged - expected == set(), f"pyright flags unmarked lines of {PLAIN_API.name}: {sorted(flagged - expected)}"
    assert expected - flagged == set(), f"pyright misses marked lines of {PLAIN_API.name}: {sorted(expected - flagged)}"


def test_the_gaps_are_plugin_features_only() -> None:
    from tests.test_static_mypy import PLAIN_MYPY_GAPS

    assert set(PYRIGHT_GAPS) <= set(PLAIN_MYPY_GAPS)
    assert set(PYRIGHT_GAPS.values()) | set(PLAIN_MYPY_GAPS.values()) <= {
        "generic tasks",
        "exact output types (mypy joins `int | str` to `object` in overloads)",
        "side inputs passed as awaitables, pipelines or streams (plain typing: side(), as_list())",
        NARROWING,
    }


def test_pyright_finds_nothing_wrong_in_the_typed_package(pyright_errors: dict[str, set[int]]) -> None:
    flagged = {key: lines for key, lines in pyright_errors.items() if key.startswith("conveyor/")}
    assert flagged == {}, f"pyright errors in conveyor's typed modules: {flagged}"


#: What pyright must say for each marked mistake of tests/typing/pyright_messages.py.
EXPECTED_MESSAGES: dict[str, str] = {
    "data-type": 'cannot be assigned to parameter "data" of type "Iterable[str] | AsyncIterable[str]"',
    "data-type-after-binding": 'cannot be assigned to parameter "data" of type "Iterable[int] | AsyncIterable[int]"',
    "unbound": 'cannot be assigned to parameter "data" of type "BindSideInputsFirst"',
    "no-data": 'Argument missing for parameter "data"',
    "source-with-data": 'cannot be assigned to parameter "data" of type "Iterable[Never] | AsyncIterable[Never]"',
    "run-option": 'No parameter named "max_in_flite"',
    "side-input-type": 'Argument of type "int" cannot be assigned to parameter "config" of type "dict[str, str]"',
    "side-input-needs-data": 'No overloads for "side" match the provided arguments',
    "option": "cannot be assigned to parameter \"on_error\" of type \"Literal['fail', 'skip_item']\"",
}
#: Internals that no message may name.
INTERNALS = ("UnboundSideInputs", "_Stage", "_Producer", "__conveyor", "_AnyResult", "_SingleTaskDecorator")


def _message_cases() -> dict[int, str]:
    import re

    cases = {}
    for number, text in enumerate(MESSAGES.read_text(encoding="utf-8").splitlines(), start=1):
        match = re.search(r"#\s*M:\s*([\w-]+)", text)
        if match:
            cases[number] = match[1]
    return cases


def test_pyright_messages_name_public_types_and_the_fix(pyright_messages: dict[str, dict[int, list[str]]]) -> None:
    found = pyright_messages.get(MESSAGES.name, {})
    cases = _message_cases()
    assert set(cases.values()) == set(EXPECTED_MESSAGES)
    assert set(found) <= set(cases), f"errors on unmarked lines: { {n: found[n] for n in set(found) - set(cases)} }"
    for line, case in cases.items():
        messages = found.get(line, [])
        assert any(EXPECTED_MESSAGES[case] in message for message in messages), (case, messages)
        # At most one error saying why, after at most pyright's "No overloads for ..." summary.
        reasons = [message for message in messages if not message.startswith("No overloads for")]
        assert len(reasons) <= 1 and len(messages) <= 2, (case, messages)
        for message in messages:
            assert not any(name in message for name in INTERNALS), (case, message)
