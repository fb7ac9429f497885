"""R1: does a rate limit hold? R calls/s over about 2 s of calls, against R·t + burst.

    .venv/bin/python benchmarks/rate_limit.py [--rate 50] [--burst 5] [--seconds 2]

Each case records the loop time at which every call starts and checks every span
between two starts, [s_i, s_j]: the calls started in it must be at most
R·(s_j − s_i) + burst. It prints the worst span's excess (≤ 0 means the limit held;
the figure is in calls), the rate achieved after the initial burst, and the wall
time. Cases: one limited stage after a quick one; one ``RateLimiter`` shared by two
pipelines running at once; calls slower than the interval (they overlap); and a
neighbour stage that blocks the event loop for up to 15 ms now and then, so calls
start late. Run by hand, not as a test (timing on a loaded machine is no verdict;
the bound is: a busy loop makes calls later, never earlier).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from conveyor import RateLimiter, single_task  # noqa: E402


def _recorder(starts: list[float], work: float) -> Callable[[int], Awaitable[int]]:
    async def call(x: int) -> int:
        starts.append(asyncio.get_running_loop().time())
        await asyncio.sleep(work)
        return x

    return call


def worst_excess(starts: list[float], rate: float, burst: int) -> float:
    """max over spans [s_i, s_j] of (calls in it) − (rate·(s_j − s_i) + burst)."""
    starts = sorted(starts)
    return max(
        (j - i + 1) - (rate * (starts[j] - starts[i]) + burst)
        for i in range(len(starts))
        for j in range(i, len(starts))
    )


async def one_stage(limiter: RateLimiter, n: int, starts: list[float]) -> None:
    @single_task
    def before(x: int) -> int:
        return x

    limited = single_task(rate_limit=limiter, task_name="limited")(_recorder(starts, 0.001))
    assert await (before | limited)(range(n)).collect() == list(range(n))


async def shared(limiter: RateLimiter, n: int, starts: list[float]) -> None:
    first = single_task(rate_limit=limiter, task_name="first")(_recorder(starts, 0.001))
    second = single_task(rate_limit=limiter, task_name="second")(_recorder(starts, 0.001))
    await asyncio.gather(first(range(n // 2)).collect(), second(range(n - n // 2)).collect())


async def slow_calls(limiter: RateLimiter, n: int, starts: list[float]) -> None:
    limited = single_task(rate_limit=limiter)(_recorder(starts, 0.2))  # 10 intervals long
    await limited(range(n)).collect()


async def busy_loop(limiter: RateLimiter, n: int, starts: list[float]) -> None:
    rng = random.Random(12)

    @single_task
    async def hog(x: int) -> int:
        if rng.random() < 0.3:
            time.sleep(rng.uniform(0, 0.015))  # blocks the whole loop: limited calls start late
        await asyncio.sleep(0)
        return x

    limited = single_task(rate_limit=limiter)(_recorder(starts, 0.001))
    await (hog | limited)(range(n)).collect()


CASES: dict[str, Callable[[RateLimiter, int, list[float]], Awaitable[Any]]] = {
    "one limited stage": one_stage,
    "shared by 2 pipelines at once": shared,
    "calls slower than the interval": slow_calls,
    "event loop blocked now and then": busy_loop,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rate", type=int, default=50)
    parser.add_argument("--burst", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    n = args.burst + round(args.rate * args.seconds)
    print(f"R = {args.rate}/s, burst = {args.burst}, {n} calls (the burst plus {args.seconds:g} s at R)")
    print(f"{'case':34} {'worst excess':>12} {'rate after burst':>17} {'wall':>8}  held")
    failed = False
    for name, case in CASES.items():
        starts: list[float] = []
        limiter = RateLimiter(args.rate, per=1.0, burst=args.burst)
        wall = time.perf_counter()
        asyncio.run(case(limiter, n, starts))
        wall = time.perf_counter() - wall
        starts.sort()
        excess = worst_excess(starts, args.rate, args.burst)
        achieved = (len(starts) - args.burst) / (starts[-1] - starts[args.burst - 1])
        held = excess <= 1e-6
        failed |= not held
        print(f"{name:34} {excess:>12.3f} {achieved:>13.2f}/s {wall:>7.2f}s  {'yes' if held else 'NO'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
