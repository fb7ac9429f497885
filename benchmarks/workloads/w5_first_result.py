"""W5 first result: 1 000 items, one of them slow (0.5 s, the others 1 ms); time to the first result.

The slow item sits first or in the middle. In ``as_completed`` mode the first result
should arrive after about one fast call (ideal 1 ms) wherever the slow item is; in
ordered mode it must wait for item 0 (ideal 0.5 s when item 0 is the slow one).
Baseline: plain asyncio with one task per item, then ``await tasks[0]`` (ordered) or
the first of ``asyncio.as_completed(tasks)``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from functools import partial
from typing import Any

from benchmarks.harness import Result, Settings, Target, sample_async, timing_details
from conveyor import Pipeline, single_task

ID = "W5"
TITLE = "W5 first result"
N = 1_000
SLOW = 0.5
FAST = 0.001
TOLERANCE = 0.010

Work = Callable[[int], Coroutine[Any, Any, int]]


def work_with_slow_item(slow_index: int) -> Work:
    async def work(x: int) -> int:
        await asyncio.sleep(SLOW if x == slow_index else FAST)
        return x

    return work


async def conveyor_first(pipeline: Pipeline[int, int], ordered: bool) -> float:
    start = time.perf_counter()
    stream = pipeline(range(N)) if ordered else pipeline.as_completed(range(N))
    await anext(stream)
    elapsed = time.perf_counter() - start
    await stream.aclose()
    return elapsed


async def baseline_first(work: Work, ordered: bool) -> float:
    start = time.perf_counter()
    tasks = [asyncio.create_task(work(x)) for x in range(N)]
    if ordered:
        await tasks[0]
    else:
        await next(asyncio.as_completed(tasks))
    elapsed = time.perf_counter() - start
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return elapsed


def run(settings: Settings) -> list[Result]:
    repeats = settings.pick(5, 3)
    results: list[Result] = []
    for position, slow_index in (("first", 0), ("middle", N // 2)):
        work = work_with_slow_item(slow_index)
        pipeline = Pipeline.of(single_task(task_name="work")(work))
        for ordered in (True, False):
            mode = "ordered" if ordered else "as_completed"
            timings = sample_async(
                {
                    "conveyor": partial(conveyor_first, pipeline, ordered),
                    "asyncio tasks": partial(baseline_first, work, ordered),
                },
                repeats,
            )
            ms = {name: t.scaled(1000) for name, t in timings.items()}
            ideal = SLOW if ordered and slow_index == 0 else FAST
            target = None
            if not ordered:
                limit_ms = (ideal + TOLERANCE) * 1000
                target = Target(limit_ms, "value", f"≤ ideal + 10 ms ({limit_ms:g} ms)")
            results.append(Result(
                TITLE, f"slow item {position}, {mode}", "ms to 1st",
                ms["conveyor"].median, "asyncio tasks", ms["asyncio tasks"].median, target,
                note=f"ideal {ideal * 1000:g} ms",
                details=timing_details(ms, "ms") | {"repeats": repeats},
            ))
    return results
