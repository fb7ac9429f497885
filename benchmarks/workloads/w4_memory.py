"""W4 memory: an async generator of N small ints through 2 async stages, results discarded.

A streaming pipeline holds a bounded number of items whatever N is, so its peak RSS
must not grow with N. Each (implementation, N) runs in a fresh child process: it
warms up on 100 items, resets the kernel's peak-RSS mark, then runs N items and
reports the peak RSS growth (buffers for the items in flight included) and the wall time. The figure that matters is the growth
at the large N minus the growth at the small N (target: within 5 MB).

Run one child by hand: ``python -m benchmarks.workloads.w4_memory conveyor 200000``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

from benchmarks import handwritten
from benchmarks.harness import Result, Settings, Target, memory, reset_peak, run_child
from conveyor import DEFAULT_MAX_IN_FLIGHT, Pipeline, single_task

ID = "W4"
TITLE = "W4 memory"
IMPLEMENTATIONS = ("conveyor", "hand-written streaming")
WARM_UP_ITEMS = 100  # imports and lazy set-up, but not the in-flight buffers


async def numbers(n: int) -> AsyncIterator[int]:
    for i in range(n):
        yield i


async def add_one(x: int) -> int:
    return x + 1


async def double(x: int) -> int:
    return 2 * x


def _discard(_: object) -> None:
    pass


async def run_conveyor(pipeline: Pipeline[int, int], n: int) -> None:
    async for _ in pipeline(numbers(n)):
        pass


async def run_handwritten(n: int) -> None:
    stages = [handwritten.Single(add_one), handwritten.Single(double)]
    await handwritten.consume(numbers(n), stages, _discard, max_in_flight=DEFAULT_MAX_IN_FLIGHT)


def child(implementation: str, n: int) -> dict[str, Any]:
    """Measure one run in this (fresh) process."""
    pipeline = single_task(add_one) | single_task(double)

    async def once(items: int) -> None:
        if implementation == "conveyor":
            await run_conveyor(pipeline, items)
        else:
            await run_handwritten(items)

    asyncio.run(once(WARM_UP_ITEMS))
    exact = reset_peak()
    before = memory()
    start = time.perf_counter()
    asyncio.run(once(n))
    elapsed = time.perf_counter() - start
    after = memory()
    base = before.rss_kb if exact else before.peak_kb
    return {
        "implementation": implementation, "n": n, "seconds": elapsed,
        "rss_before_kb": before.rss_kb, "peak_after_kb": after.peak_kb, "rss_after_kb": after.rss_kb,
        "peak_growth_kb": after.peak_kb - base, "peak_reset": exact,
    }


def run(settings: Settings) -> list[Result]:
    small, large = (50_000, 250_000) if settings.quick else (200_000, 1_000_000)
    measured: dict[tuple[str, int], dict[str, Any]] = {}
    for n in (small, large):
        for implementation in IMPLEMENTATIONS:
            measured[implementation, n] = run_child(__name__, implementation, str(n))

    def growth_mb(implementation: str, n: int) -> float:
        return float(measured[implementation, n]["peak_growth_kb"]) / 1024

    def label(n: int) -> str:
        return f"{n // 1000}k" if n < 1_000_000 else f"{n // 1_000_000}M"

    details = {f"{impl} {n}": m for (impl, n), m in measured.items()}
    conveyor, baseline = IMPLEMENTATIONS
    results = [
        Result(
            TITLE, f"peak RSS growth, {label(n)} items", "MB", growth_mb(conveyor, n),
            baseline, growth_mb(baseline, n), show_ratio=False, details=details if n == large else {},
        )
        for n in (small, large)
    ]
    results.append(Result(
        TITLE, f"growth {label(large)} − growth {label(small)}", "MB",
        growth_mb(conveyor, large) - growth_mb(conveyor, small),
        baseline, growth_mb(baseline, large) - growth_mb(baseline, small),
        Target(5.0, "abs_value", "flat: |Δ| ≤ 5 MB"), show_ratio=False,
    ))
    for n in (small, large):
        results.append(Result(
            TITLE, f"time, {label(n)} items, 2 stages", "s",
            float(measured[conveyor, n]["seconds"]), baseline, float(measured[baseline, n]["seconds"]),
            note="one run each, in the child process",
        ))
    return results


if __name__ == "__main__":
    print(json.dumps(child(sys.argv[1], int(sys.argv[2]))))
