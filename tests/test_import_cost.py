"""``import conveyor`` stays light: the heavy libraries are imported when first used.

Not timed (benchmarks/import_cost.py measures the time); this checks which modules a
fresh interpreter has loaded after importing conveyor, and that each one does get
imported once its feature is used.
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("networkx", "typeguard", "graphviz", "rich")


def loaded_after(code: str) -> list[str]:
    probe = f"import json, sys\n{code}\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    found: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def test_import_conveyor_loads_none_of_the_heavy_libraries() -> None:
    assert loaded_after("import conveyor") == []


def test_import_and_composition_leave_the_runtime_and_asyncio_for_the_first_run() -> None:
    code = (
        "import sys\n"
        "from conveyor import single_task\n"
        "@single_task\n"
        "def double(x: int) -> int:\n"
        "    return 2 * x\n"
        "pipeline = double | double\n"
        "print([m for m in ('asyncio', 'conveyor.stream', 'conveyor.runtime.scheduler') if m in sys.modules])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_composing_and_running_a_pipeline_loads_none_of_them_either() -> None:
    code = (
        "import asyncio\n"
        "from conveyor import single_task\n"
        "@single_task\n"
        "def double(x: int) -> int:\n"
        "    return 2 * x\n"
        "pipeline = double | double\n"
        "assert asyncio.run(pipeline([1, 2]).collect()) == [4, 8]\n"
    )
    assert loaded_after(code) == []


def test_each_is_imported_when_its_feature_is_used() -> None:
    code = (
        "from conveyor import single_task\n"
        "@single_task\n"
        "def double(x: int, factor: int) -> int:\n"
        "    return factor * x\n"
        "task = double.with_inputs(factor=3)\n"   # a plain value is checked: typeguard
        "(task | task).graph\n"  # networkx
        "(task | task).to_dot()\n"  # graphviz
    )
    assert set(loaded_after(code)) == {"typeguard", "networkx", "graphviz"}
