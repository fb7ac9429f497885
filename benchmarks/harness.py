"""Shared measuring tools: timing with repeats, RSS from /proc, child processes, results.

Timing uses ``time.perf_counter``; every repeat of an async case runs on a fresh event
loop (``asyncio.run``) after a ``gc.collect()``, so nothing left over from one run (or
from another implementation) is still scheduled during the next. The cases of one
comparison are interleaved (A B C A B C ...) so slow drift of the machine hits all
of them alike. The figure reported is the median; the best and all runs go to the JSON.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

ROOT = Path(__file__).resolve().parent.parent

# -- settings ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """What the command line chose; workloads scale sizes and repeats from it."""

    quick: bool

    def pick(self, full: int, quick: int) -> int:
        return quick if self.quick else full


# -- timing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    """Seconds of each repeat (or any other sampled quantity, in its own unit)."""

    runs: tuple[float, ...]

    @property
    def best(self) -> float:
        return min(self.runs)

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    def scaled(self, factor: float) -> Timing:
        return Timing(tuple(r * factor for r in self.runs))


#: A check applied to every result a case returns (raise AssertionError when wrong).
Check = Callable[[Any], None]


def sample_async(
    cases: Mapping[str, Callable[[], Awaitable[float]]], repeats: int
) -> dict[str, Timing]:
    """Run each coroutine factory ``repeats`` times, interleaved; each run reports its own sample."""
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeats):
        for name, make in cases.items():
            gc.collect()
            samples[name].append(asyncio.run(_call(make)))
    return {name: Timing(tuple(values)) for name, values in samples.items()}


async def _call(make: Callable[[], Awaitable[float]]) -> float:
    return await make()


def time_async(
    cases: Mapping[str, Callable[[], Awaitable[Any]]], repeats: int, check: Check | None = None
) -> dict[str, Timing]:
    """Wall time of each coroutine factory, ``repeats`` times interleaved; ``check`` every result."""

    def timed(make: Callable[[], Awaitable[Any]]) -> Callable[[], Awaitable[float]]:
        async def run() -> float:
            start = time.perf_counter()
            result = await make()
            elapsed = time.perf_counter() - start
            if check is not None:
                check(result)
            return elapsed

        return run

    return sample_async({name: timed(make) for name, make in cases.items()}, repeats)


def time_sync(cases: Mapping[str, Callable[[], Any]], repeats: int) -> dict[str, Timing]:
    """Wall time of plain functions, ``repeats`` times interleaved."""
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeats):
        for name, fn in cases.items():
            gc.collect()
            start = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - start)
    return {name: Timing(tuple(values)) for name, values in samples.items()}


# -- memory ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Memory:
    """Resident set size now and its peak (high-water mark) so far, in kB."""

    rss_kb: int
    peak_kb: int


def memory() -> Memory:
    fields: dict[str, int] = {}
    with open("/proc/self/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0])
    return Memory(rss_kb=fields["VmRSS"], peak_kb=fields["VmHWM"])


def reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False when not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


def run_child(module: str, *args: str, timeout: float = 600.0) -> dict[str, Any]:
    """Run ``python -m module args...`` in a fresh process; it prints one JSON object last."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"child {module} {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# -- results -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A goal: ``on`` (the ratio to the baseline, the value, or its absolute value) <= ``limit``."""

    limit: float
    on: Literal["ratio", "value", "abs_value"]
    text: str


@dataclass(frozen=True)
class Result:
    """One row of the report: conveyor's figure next to a baseline's, and its target."""

    workload: str
    case: str
    metric: str
    conveyor: float
    baseline_name: str | None = None
    baseline: float | None = None
    target: Target | None = None
    show_ratio: bool = True
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if not self.show_ratio or self.baseline is None or self.baseline <= 0 or self.conveyor < 0:
            return None
        return self.conveyor / self.baseline

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        if self.target.on == "ratio":
            return self.ratio is not None and self.ratio <= self.target.limit
        value = abs(self.conveyor) if self.target.on == "abs_value" else self.conveyor
        return value <= self.target.limit

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"ratio": self.ratio, "met": self.met}


def timing_details(timings: Mapping[str, Timing], unit: str = "s") -> dict[str, Any]:
    """Every run of every case, for the JSON report."""
    return {
        name: {"unit": unit, "median": t.median, "best": t.best, "runs": list(t.runs)}
        for name, t in timings.items()
    }
