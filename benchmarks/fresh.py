"""Fresh-process A/B timing: each case runs alone in a new interpreter, alternating.

    .venv/bin/python benchmarks/fresh.py w7-fan w7-two-pipelines [--runs 5]
    .venv/bin/python benchmarks/fresh.py --list

A baseline measured in a process that already ran other work reads slower and
flatters the comparison; here every run of every case starts from a new process
(A B A B ...) and the medians are compared. Cases print one number: seconds of wall
time around the work itself, or kB of peak RSS for the ``-rss`` cases.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.harness import memory  # noqa: E402


def _stages(prefix: str, count: int = 3, delay: float = 0.0) -> Any:
    from conveyor import Pipeline, single_task

    async def step(x: int) -> int:
        if delay:
            await asyncio.sleep(delay)
        return x + 1

    tasks = [single_task(task_name=f"{prefix}{i}")(step) for i in range(count)]
    return Pipeline().add(*tasks)


def _timed(make: Callable[[], Any]) -> float:
    async def main() -> float:
        start = time.perf_counter()
        await make()
        return time.perf_counter() - start

    return asyncio.run(main())


# -- W7: fan and fork over two branches of three trivial stages, 100k items -------------------

N7 = 100_000


def w7_fan() -> float:
    from conveyor import fan

    pipeline = fan(_stages("a"), _stages("b"))
    return _timed(lambda: pipeline(range(N7)).collect())


def w7_fork() -> float:
    from conveyor import fork

    pipeline = fork(_stages("a"), _stages("b"))
    return _timed(lambda: pipeline(range(N7)).collect())


def w7_two_pipelines() -> float:
    first, second = _stages("a"), _stages("b")

    async def both() -> None:
        await first(range(N7)).collect()
        await second(range(N7)).collect()

    return _timed(both)


# -- W7-slow: one branch 10x slower, peak RSS and how far the source runs ahead ---------------


def _w7_slow_rss(n: int) -> float:
    from conveyor import fan, single_task

    read = 0

    def source() -> Iterator[int]:
        nonlocal read
        for i in range(n):
            read += 1
            yield i

    async def quick(x: int) -> int:
        return x

    async def slow(x: int) -> int:
        for _ in range(10):  # ten loop turns where the quick branch needs none
            await asyncio.sleep(0)
        return x

    pipeline = fan(single_task(quick), single_task(slow))

    async def main() -> None:
        count = 0
        lead = 0
        async for _ in pipeline(source(), max_in_flight=1000):
            count += 1
            if count % 1000 == 0:
                lead = max(lead, read - count // 2)  # items read but not yet out of the slow branch
        assert count == 2 * n
        print(json.dumps({"max_lead": lead}), file=sys.stderr)

    asyncio.run(main())
    return float(memory().peak_kb)


def w7_slow_100k_rss() -> float:
    return _w7_slow_rss(100_000)


def w7_slow_1m_rss() -> float:
    return _w7_slow_rss(1_000_000)


# -- W2 in fresh processes: 10k items x 3 stages x 10 ms ----------------------------------------


def w2_conveyor() -> float:
    pipeline = _stages("s", delay=0.01)
    return _timed(lambda: pipeline(range(10_000)).collect())


def w2_gather() -> float:
    async def step(x: int) -> int:
        await asyncio.sleep(0.01)
        return x + 1

    async def chain(x: int) -> int:
        return await step(await step(await step(x)))

    return _timed(lambda: asyncio.gather(*(chain(x) for x in range(10_000))))


CASES: dict[str, Callable[[], float]] = {
    "w7-fan": w7_fan,
    "w7-fork": w7_fork,
    "w7-two-pipelines": w7_two_pipelines,
    "w7-slow-100k-rss": w7_slow_100k_rss,
    "w7-slow-1m-rss": w7_slow_1m_rss,
    "w2-conveyor": w2_conveyor,
    "w2-gather": w2_gather,
}


def run_one(name: str) -> tuple[float, str]:
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--one", name],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )
    return float(done.stdout.strip().splitlines()[-1]), done.stderr.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("cases", nargs="*")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args()
    if args.one:
        print(CASES[args.one]())
        return 0
    if args.list or not args.cases:
        print("\n".join(CASES))
        return 0
    unknown = [c for c in args.cases if c not in CASES]
    if unknown:
        parser.error(f"unknown case(s): {', '.join(unknown)}; see --list")
    samples: dict[str, list[float]] = {c: [] for c in args.cases}
    notes: dict[str, list[str]] = {c: [] for c in args.cases}
    for _ in range(args.runs):
        for case in args.cases:  # alternating, each in a new process
            value, note = run_one(case)
            samples[case].append(value)
            if note:
                notes[case].append(note)
    first = statistics.median(samples[args.cases[0]])
    for case in args.cases:
        median = statistics.median(samples[case])
        runs = ", ".join(f"{v:.4g}" for v in samples[case])
        extra = f"  [{notes[case][-1]}]" if notes[case] else ""
        print(f"{case:20} median {median:.4g}  ratio to {args.cases[0]} {median / first:.2f}  runs: {runs}{extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
