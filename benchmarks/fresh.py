"""Fresh-process A/B timing: each case runs alone in a new interpreter, alternating.

    .venv/bin/python benchmarks/fresh.py w7-fan w7-two-pipelines [--runs 5]
    .venv/bin/python benchmarks/fresh.py --list
    .venv/bin/python benchmarks/fresh.py w1 --against /path/to/other/checkout

``--cpu`` times the work in CPU seconds of the child process rather than wall time
(less moved by other work on a shared machine; not for the ``-rss`` cases).
``--against`` runs every case twice per round, once with conveyor imported from this
checkout and once from the other one (say a worktree of main: before / after a
change), alternating; the other checkout's figures are listed as ``case@other``.

A baseline measured in a process that already ran other work reads slower and
flatters the comparison; here every run of every case starts from a new process
(A B A B ...) and the medians are compared. Bytecode of the checkouts is written
first, as an installed package has it: otherwise each child would compile the modules
conveyor imports lazily (at a run's start) inside the timed work, which the standard
library's already compiled modules in a baseline never pay. Cases print one number: seconds of wall
time around the work itself, or kB of peak RSS for the ``-rss`` cases.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

_AGAINST = "CONVEYOR_FRESH_ROOT"  # the checkout to import conveyor from, in a child run
_CPU = "CONVEYOR_FRESH_CPU"  # time the work in CPU seconds of the process, not wall time
if len(sys.argv) > 2 and sys.argv[1] == "--one" and (other := os.environ.get(_AGAINST)):
    sys.path.insert(0, other)

from benchmarks.executors_fresh import CASES as EXECUTOR_CASES  # noqa: E402
from benchmarks.harness import memory  # noqa: E402
from benchmarks.workloads.w10_dask import CASES as DASK_CASES  # noqa: E402


def _stages(prefix: str, count: int = 3, delay: float = 0.0, **options: Any) -> Any:
    from conveyor import Pipeline, single_task

    async def step(x: int) -> int:
        if delay:
            await asyncio.sleep(delay)
        return x + 1

    tasks = [single_task(task_name=f"{prefix}{i}", **options)(step) for i in range(count)]
    return Pipeline().add(*tasks)


def _timed(make: Callable[[], Any]) -> float:
    clock = time.process_time if os.environ.get(_CPU) else time.perf_counter

    async def main() -> float:
        start = clock()
        await make()
        return clock() - start

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


# -- W1 in fresh processes: 3 chained ``return x + 1`` async stages, 100k items -------------------


def w1() -> float:
    pipeline = _stages("w")
    return _timed(lambda: pipeline(range(100_000)).collect())


def _cpu(make: Callable[[], Any]) -> float:
    """CPU seconds of this process (``time.process_time``) around the work, not wall
    time: on a machine shared with other work, waiting for a core is not counted."""

    async def main() -> float:
        start = time.process_time()
        await make()
        return time.process_time() - start

    return asyncio.run(main())


def w1_cpu() -> float:
    pipeline = _stages("w")
    return _cpu(lambda: pipeline(range(100_000)).collect())


def w1_handwritten_cpu() -> float:
    """W1's baseline, the hand-written streaming pipeline (benchmarks/handwritten.py), in CPU seconds."""
    from benchmarks import handwritten
    from conveyor import DEFAULT_MAX_IN_FLIGHT

    async def step(x: int) -> int:
        return x + 1

    stages = [handwritten.Single(step) for _ in range(3)]
    return _cpu(lambda: handwritten.collect(range(100_000), stages, max_in_flight=DEFAULT_MAX_IN_FLIGHT))


def w1_dead_letters_cpu() -> float:
    """W1 with a dead-letter branch on every stage and no failure, in CPU seconds."""
    from conveyor import Failed, single_task

    @single_task
    def reject(record: Failed[object]) -> None:
        pass

    pipeline = _stages("w").with_dead_letters(reject)
    return _cpu(lambda: pipeline(range(100_000)).collect())


# -- W1 with dead letters: the cost of having a branch, and of failures ---------------------------


def w1_dead_letters() -> float:
    """W1 with a dead-letter branch on every stage, and no failure: the cost of having one."""
    from conveyor import Failed, single_task

    @single_task
    def reject(record: Failed[object]) -> None:
        pass

    pipeline = _stages("w").with_dead_letters(reject)
    return _timed(lambda: pipeline(range(100_000)).collect())


def _tenth_fails(x: int) -> int:
    if x % 10 == 0:
        raise ValueError(x)
    return x + 1


def _same(x: int) -> int:
    return x


def w1_skips_10pc() -> float:
    """A tenth of 100k items fails in the first of 3 stages, skipped (records kept for stream.failures)."""
    from conveyor import Pipeline, single_task

    logging.getLogger("conveyor").setLevel(logging.ERROR)  # a warning per failure is not the figure
    first = single_task(task_name="w0", on_error="skip_item")(_tenth_fails)
    pipeline = Pipeline().add(first, *(single_task(task_name=f"w{i}")(_same) for i in (1, 2)))
    return _timed(lambda: pipeline(range(100_000)).collect())


def w1_dead_letters_10pc() -> float:
    """The same failures, dead-lettered into a sink branch instead."""
    from conveyor import Failed, Pipeline, single_task

    logging.getLogger("conveyor").setLevel(logging.ERROR)

    @single_task
    def reject(record: Failed[int]) -> None:
        pass

    first = single_task(task_name="w0")(_tenth_fails).with_dead_letters(reject)
    pipeline = Pipeline().add(first, *(single_task(task_name=f"w{i}")(_same) for i in (1, 2)))
    return _timed(lambda: pipeline(range(100_000)).collect())


def w1_timeout() -> float:
    """W1 with timeout= on every stage: calls that finish inline arm no timer."""
    pipeline = _stages("w", timeout=10.0)
    return _timed(lambda: pipeline(range(100_000)).collect())


def w2_timeout() -> float:
    """W2 with timeout= on every stage: every call suspends, so each arms one timer."""
    pipeline = _stages("s", delay=0.01, timeout=10.0)
    return _timed(lambda: pipeline(range(10_000)).collect())


CASES: dict[str, Callable[[], float]] = {
    "w7-fan": w7_fan,
    "w7-fork": w7_fork,
    "w7-two-pipelines": w7_two_pipelines,
    "w7-slow-100k-rss": w7_slow_100k_rss,
    "w7-slow-1m-rss": w7_slow_1m_rss,
    "w2-conveyor": w2_conveyor,
    "w2-gather": w2_gather,
    "w1": w1,
    "w1-cpu": w1_cpu,
    "w1-handwritten-cpu": w1_handwritten_cpu,
    "w1-dead-letters-cpu": w1_dead_letters_cpu,
    "w1-dead-letters": w1_dead_letters,
    "w1-skips-10pc": w1_skips_10pc,
    "w1-dead-letters-10pc": w1_dead_letters_10pc,
    "w1-timeout": w1_timeout,
    "w2-timeout": w2_timeout,
}
CASES.update(EXECUTOR_CASES)  # W8, W9 and the W1 inline A/B: benchmarks/executors_fresh.py
CASES.update(DASK_CASES)  # W10 on a Dask LocalCluster: benchmarks/workloads/w10_dask.py


def run_one(name: str, against: str | None = None) -> tuple[float, str]:
    env = dict(os.environ)
    env.pop(_AGAINST, None)
    if against:
        env[_AGAINST] = against
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--one", name],
        capture_output=True, text=True, check=True, cwd=ROOT, env=env,
    )
    return float(done.stdout.strip().splitlines()[-1]), done.stderr.strip()


def _compile_bytecode(roots: list[Path]) -> None:
    """Write the __pycache__ files of conveyor and the benchmarks (py_compile writes
    them even under PYTHONDONTWRITEBYTECODE, which only stops the import system)."""
    import compileall

    for root in roots:
        for package in ("conveyor", "benchmarks"):
            if (root / package).is_dir():
                compileall.compile_dir(root / package, quiet=1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("cases", nargs="*")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--against", help="another checkout: run each case with its conveyor too")
    parser.add_argument("--cpu", action="store_true", help="CPU seconds of the process instead of wall time")
    args = parser.parse_args()
    if args.cpu:
        os.environ[_CPU] = "1"  # read by the child runs
    if args.one:
        print(CASES[args.one]())
        return 0
    if args.list or not args.cases:
        print("\n".join(CASES))
        return 0
    unknown = [c for c in args.cases if c not in CASES]
    if unknown:
        parser.error(f"unknown case(s): {', '.join(unknown)}; see --list")
    _compile_bytecode([ROOT] + ([Path(args.against)] if args.against else []))
    runs = [(case, None) for case in args.cases]
    if args.against:
        runs = [run for case in args.cases for run in ((case, None), (case, args.against))]
    labels = [case if root is None else f"{case}@other" for case, root in runs]
    samples: dict[str, list[float]] = {label: [] for label in labels}
    notes: dict[str, list[str]] = {label: [] for label in labels}
    for _ in range(args.runs):
        for label, (case, root) in zip(labels, runs):  # alternating, each in a new process
            value, note = run_one(case, root)
            samples[label].append(value)
            if note:
                notes[label].append(note)
    first = statistics.median(samples[labels[0]])
    for case in labels:
        median = statistics.median(samples[case])
        values = ", ".join(f"{v:.4g}" for v in samples[case])
        extra = f"  [{notes[case][-1]}]" if notes[case] else ""
        print(f"{case:20} median {median:.4g}  ratio to {labels[0]} {median / first:.2f}  runs: {values}{extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
