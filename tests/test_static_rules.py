"""The plugin's copy of the stage rules stays the runtime's (conveyor.stage_types), and
the plugin's entry point behaves: version gate, cache fingerprint, never a crash.

(Task by task, the plugin's stage types are compared with the runtime's over the whole
corpus in tests/test_static_mypy.py.)
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from conveyor import signature, stage_types
from conveyor_mypy import _rules


def _mypy_name(cls: type) -> str:
    """How mypy names a runtime class: collections.abc.X is typing.X there."""
    return f"builtins.{cls.__name__}" if cls.__module__ == "builtins" else f"typing.{cls.__name__}"


@pytest.mark.parametrize(
    ("plugin_table", "runtime_table"),
    [
        (_rules.ITERATORS, stage_types._ITERATORS),
        (_rules.AWAITABLES, stage_types._AWAITABLES),
        (_rules.BATCH_INPUTS, stage_types._LIST_LIKE),
        (_rules.ALL_ITEMS, signature._SEQUENCE_ORIGINS),
    ],
    ids=["iterators", "awaitables", "batch-inputs", "all-items-side-inputs"],
)
def test_the_plugin_tables_are_the_runtime_tables(plugin_table: frozenset[str], runtime_table: Any) -> None:
    assert plugin_table == {_mypy_name(cls) for cls in runtime_table}


def test_only_a_list_fans_out() -> None:
    assert stage_types._list_element(list[int]) is int
    assert stage_types._list_element(tuple[int, ...]) is None
    assert _rules.FANS_OUT == "builtins.list"


def test_the_plugin_is_off_for_mypy_older_than_supported(capsys: pytest.CaptureFixture[str]) -> None:
    from mypy.plugin import Plugin

    import conveyor_mypy
    from conveyor_mypy._plugin import ConveyorPlugin

    assert conveyor_mypy.plugin("1.9.0") is Plugin
    assert "older than 1.10" in capsys.readouterr().err
    assert conveyor_mypy.plugin("1.10.1") is ConveyorPlugin
    assert conveyor_mypy.plugin("2.4.1+dev.abc") is ConveyorPlugin


def test_the_cache_fingerprint_covers_the_plugin_sources() -> None:
    import conveyor_mypy

    assert conveyor_mypy.__version__.startswith("0.1.0+") and len(conveyor_mypy.__version__) == len("0.1.0+") + 16


def test_a_failing_hook_falls_back_to_plain_typing() -> None:
    from conveyor_mypy._plugin import _default_type, _safe

    def broken(ctx: Any) -> Any:
        raise RuntimeError("a case the plugin does not understand")

    ctx: Any = SimpleNamespace(default_return_type="plain typing's type")
    assert _safe(broken, _default_type)(ctx) == "plain typing's type"


def test_the_plugin_itself_type_checks_strictly() -> None:
    from mypy import api

    from tests.test_static_mypy import ROOT

    stdout, stderr, status = api.run(
        ["--strict", "--no-incremental", "--python-version", "3.11", str(ROOT / "plugins" / "conveyor_mypy")]
    )
    assert status == 0, stdout + stderr
