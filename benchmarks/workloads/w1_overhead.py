"""W1 overhead: three chained ``return x + 1`` async stages; what a pipeline costs per item per stage.

The work itself is nothing, so the figure is pure machinery: µs per item per stage.
Baselines: (a) the hand-written streaming pipeline (a task per item, bounded queues,
order kept; see ``benchmarks/handwritten.py``) with the same bound as conveyor's
default; (b) a direct loop that awaits the three calls one item after another (no
concurrency at all: the floor for coroutine calls themselves).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from benchmarks import handwritten
from benchmarks.harness import Result, Settings, Target, time_async, timing_details
from conveyor import DEFAULT_MAX_IN_FLIGHT, Pipeline, single_task

ID = "W1"
TITLE = "W1 overhead"
STAGES = 3


async def add_one(x: int) -> int:
    return x + 1


def conveyor_pipeline() -> Pipeline[int, int]:
    first, second, third = (single_task(task_name=f"add_one_{i}")(add_one) for i in range(STAGES))
    return first | second | third


async def run_conveyor(pipeline: Pipeline[int, int], n: int) -> list[int]:
    return await pipeline(range(n)).collect()


async def run_handwritten(n: int) -> list[Any]:
    stages = [handwritten.Single(add_one) for _ in range(STAGES)]
    return await handwritten.collect(range(n), stages, max_in_flight=DEFAULT_MAX_IN_FLIGHT)


async def run_direct_loop(n: int) -> list[int]:
    results: list[int] = []
    for x in range(n):
        results.append(await add_one(await add_one(await add_one(x))))
    return results


def run(settings: Settings) -> list[Result]:
    pipeline = conveyor_pipeline()
    results: list[Result] = []
    for n, repeats in ((10_000, settings.pick(7, 3)), (100_000, settings.pick(5, 1))):

        def check(out: list[int], n: int = n) -> None:
            assert out == list(range(STAGES, n + STAGES)), "wrong results"

        timings = time_async(
            {
                "conveyor": partial(run_conveyor, pipeline, n),
                "hand-written streaming": partial(run_handwritten, n),
                "direct loop": partial(run_direct_loop, n),
            },
            repeats,
            check,
        )
        per_item_stage = {name: t.scaled(1e6 / (n * STAGES)) for name, t in timings.items()}
        conveyor = per_item_stage["conveyor"].median
        details = timing_details(timings) | {"repeats": repeats}
        case = f"{n // 1000}k items, 3 stages"
        results.append(Result(
            TITLE, case, "µs/item/stage", conveyor,
            "hand-written streaming", per_item_stage["hand-written streaming"].median,
            Target(0.5, "ratio", "≤ 0.5× hand-written"), details=details,
        ))
        results.append(Result(
            TITLE, case, "µs/item/stage", conveyor,
            "direct loop", per_item_stage["direct loop"].median,
            note="no concurrency: the floor of 3 awaited calls",
        ))
    return results
