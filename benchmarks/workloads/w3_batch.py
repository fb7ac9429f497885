"""W3 batch: single -> batch(max_size=100, list return) -> single, 100k items.

Measures grouping items into batches and fanning the returned lists out again.
Baseline: the hand-written streaming pipeline with a batching worker.
"""

from __future__ import annotations

from functools import partial

from benchmarks import handwritten
from benchmarks.harness import Result, Settings, Target, time_async, timing_details
from conveyor import DEFAULT_MAX_IN_FLIGHT, Pipeline, batch_task, single_task

ID = "W3"
TITLE = "W3 batch"
BATCH_SIZE = 100


async def add_one(x: int) -> int:
    return x + 1


async def double_all(xs: list[int]) -> list[int]:
    return [2 * x for x in xs]


def conveyor_pipeline() -> Pipeline[int, int]:
    return (
        single_task(task_name="add_one_before")(add_one)
        | batch_task(max_size=BATCH_SIZE)(double_all)
        | single_task(task_name="add_one_after")(add_one)
    )


async def run_conveyor(pipeline: Pipeline[int, int], n: int) -> list[int]:
    return await pipeline(range(n)).collect()


async def run_handwritten(n: int) -> list[int]:
    stages: list[handwritten.StageSpec] = [
        handwritten.Single(add_one),
        handwritten.Batch(double_all, BATCH_SIZE),
        handwritten.Single(add_one),
    ]
    return await handwritten.collect(range(n), stages, max_in_flight=DEFAULT_MAX_IN_FLIGHT)


def run(settings: Settings) -> list[Result]:
    n = 100_000
    repeats = settings.pick(5, 2)
    pipeline = conveyor_pipeline()

    def check(out: list[int]) -> None:
        assert out == [2 * (x + 1) + 1 for x in range(n)], "wrong results"

    timings = time_async(
        {"conveyor": partial(run_conveyor, pipeline, n), "hand-written streaming": partial(run_handwritten, n)},
        repeats,
        check,
    )
    per_item = {name: t.scaled(1e6 / n) for name, t in timings.items()}
    return [Result(
        TITLE, "100k items, single | batch(100) | single", "µs/item",
        per_item["conveyor"].median, "hand-written streaming", per_item["hand-written streaming"].median,
        Target(0.5, "ratio", "≤ 0.5× hand-written"),
        details=timing_details(timings) | {"repeats": repeats},
    )]
