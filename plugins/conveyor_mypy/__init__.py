"""conveyor's mypy plugin: exact pipeline types and readable ``|`` errors.

Enable it with one line in the mypy configuration::

    [mypy]
    plugins = conveyor_mypy

(``pyproject.toml``: ``[tool.mypy]`` / ``plugins = ["conveyor_mypy"]``). conveyor's
public API is typed well enough for every checker without it (see
docs/static-checking.md); the plugin adds what plain typing cannot say:

- exact stage types: ``int | str | None`` outputs ``int | str``, generators and
  batch fan-out as the runtime reads them (``conveyor_mypy._features.stage_types``);
- a clear message at a bad ``|`` or ``Pipeline.add``, with no follow-up errors, and
  generic tasks (``T -> T``) bound through a chain (``_features.composition``);
- side inputs given as awaitables, pipelines or streams (``_features.side_inputs``);
- the branching steps (``fan``, ``fork``, ``route``, ...) typed as the runtime types
  them, and one error per bad branch, naming it (``_features.branching``);
- generic tasks bound at call sites (``_features.calls``).

It never crashes mypy: whatever it does not understand keeps the plain typing.
"""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path

from mypy.plugin import Plugin

__all__ = ["plugin", "MIN_MYPY", "TESTED_MYPY"]


def _fingerprint() -> str:
    """A digest of the plugin's own sources: mypy keeps it with its cache (as the
    entry module's ``__version__``), so any change of the plugin rechecks everything."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).resolve().parent.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


__version__ = f"0.1.0+{_fingerprint()}"

#: The oldest mypy the plugin supports; older ones get plain typing and a warning.
MIN_MYPY = (1, 10)
#: The mypy versions the test suite runs the plugin with (oldest and newest).
TESTED_MYPY = ("1.10.1", "2.4.1")


def plugin(version: str) -> type[Plugin]:
    """mypy's entry point: the plugin class for this mypy ``version``."""
    if _version_tuple(version) < MIN_MYPY:
        oldest = ".".join(map(str, MIN_MYPY))
        print(
            f"conveyor_mypy: mypy {version} is older than {oldest}; the plugin is off "
            f"(conveyor's plain typing still checks pipelines)",
            file=sys.stderr,
        )
        return Plugin
    from conveyor_mypy._plugin import ConveyorPlugin

    return ConveyorPlugin


def _version_tuple(version: str) -> tuple[int, ...]:
    numbers = re.match(r"(\d+)\.(\d+)", version)
    return (int(numbers.group(1)), int(numbers.group(2))) if numbers else (0, 0)
