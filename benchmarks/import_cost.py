"""Import cost: ``import conveyor`` and ``conveyor --help`` in fresh processes.

Run on its own (``python benchmarks/import_cost.py [--quick]``) or as workload I1 of
``benchmarks/run.py``. Every sample is a new interpreter started with
``subprocess.run`` (wall time of the whole process, start-up included), next to a bare
``python -c pass`` run interleaved with it, so the figures can be read against the
machine's own start-up cost. Bytecode is written once before timing (a warm-up run
with ``PYTHONDONTWRITEBYTECODE`` removed), as it is for an installed package.

Also reported: the CPU time (user + system) of the same processes, which other work
on the machine moves less than wall time; the peak RSS of ``import conveyor`` (the
child's ``ru_maxrss``); and the heavy modules it must not import (networkx,
typeguard, graphviz, rich: the graph, item checks, diagrams and progress import
them when first used).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

if __name__ == "__main__":  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import ROOT, Result, Settings, Target, Timing, time_sync, timing_details

ID = "I1"
TITLE = "I1 import cost"
HEAVY = ("networkx", "typeguard", "graphviz", "rich")

_PROBE = (
    "import json, resource, sys; import conveyor; "
    f"print(json.dumps({{'rss_kb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "
    f"'heavy': [m for m in {HEAVY!r} if m in sys.modules]}}))"
)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(ROOT)
    return env


def _cli() -> list[str]:
    """The installed console script next to this interpreter, else ``python -m conveyor``."""
    script = Path(sys.executable).with_name("conveyor")
    return [str(script), "--help"] if script.exists() else [sys.executable, "-m", "conveyor", "--help"]


def _runner(args: list[str], cpu: list[float] | None = None) -> Callable[[], None]:
    """A fresh process running ``args``; its CPU time (user + system) goes to ``cpu``."""
    env = _env()

    def run() -> None:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(args, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if cpu is not None:
            cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)

    return run


def run(settings: Settings) -> list[Result]:
    repeats = settings.pick(30, 10)
    cases = {
        "bare python": [sys.executable, "-c", "pass"],
        "import conveyor": [sys.executable, "-c", "import conveyor"],
        "conveyor --help": _cli(),
    }
    for args in cases.values():  # warm-up: bytecode written, files in the page cache
        _runner(args)()
    cpu: dict[str, list[float]] = {name: [] for name in cases}
    timings = time_sync({name: _runner(args, cpu[name]) for name, args in cases.items()}, repeats)
    ms = {name: t.scaled(1000) for name, t in timings.items()}
    cpu_ms = {name: Timing(tuple(values)).scaled(1000) for name, values in cpu.items()}
    probe = subprocess.run([sys.executable, "-c", _PROBE], cwd=ROOT, env=_env(), check=True,
                           capture_output=True, text=True)
    found = json.loads(probe.stdout)
    bare = ms["bare python"].median
    details = timing_details(ms, "ms") | {"repeats": repeats, "cpu": timing_details(cpu_ms, "ms")}
    return [
        Result(TITLE, "import conveyor, fresh process", "ms", ms["import conveyor"].median,
               "bare python -c pass", bare, Target(100.0, "value", "<= 100 ms"), show_ratio=False,
               details=details),
        Result(TITLE, "conveyor --help, fresh process", "ms", ms["conveyor --help"].median,
               "bare python -c pass", bare, Target(150.0, "value", "<= 150 ms"), show_ratio=False),
        Result(TITLE, "import conveyor, CPU time (user + system)", "ms", cpu_ms["import conveyor"].median,
               "bare python -c pass", cpu_ms["bare python"].median, show_ratio=False,
               note="less moved by other work on the machine than wall time; not part of the target"),
        Result(TITLE, "conveyor --help, CPU time (user + system)", "ms", cpu_ms["conveyor --help"].median,
               "bare python -c pass", cpu_ms["bare python"].median, show_ratio=False,
               note="not part of the target"),
        Result(TITLE, "peak RSS of import conveyor", "MB", found["rss_kb"] / 1024, note="not part of the target"),
        Result(TITLE, "heavy modules imported by import conveyor", "modules", len(found["heavy"]),
               target=Target(0, "value", "none of " + ", ".join(HEAVY)),
               note=", ".join(found["heavy"]) or "none"),
    ]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    for row in run(Settings(quick="--quick" in args)):
        baseline = f"  ({row.baseline_name} {row.baseline:.1f})" if row.baseline is not None else ""
        verdict = {True: "met", False: "MISSED", None: ""}[row.met]
        print(f"{row.case}: {row.conveyor:.1f} {row.metric}{baseline}  {verdict}".rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
