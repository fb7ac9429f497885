"""W2 latency-bound: three stages that each sleep, then return; can the pipeline overlap them?

Ideal wall time is 3 × the sleep, whatever the number of items. The baseline is
``asyncio.gather`` over one 3-step chain per item (all items at once, unbounded).
For the 10 ms variant the hand-written streaming pipeline (same bound as conveyor's
default) is shown too, for reference: what a streaming design can reach.
conveyor runs with its default ``max_in_flight``, unbounded (``None``) and with
10 000, to show what the bound costs when calls are slow: with a bound of B items
per stage, N items of a sleep d need about N / B × d per stage.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from functools import partial
from typing import Any

from benchmarks import handwritten
from benchmarks.harness import Result, Settings, Target, time_async, timing_details
from conveyor import DEFAULT_MAX_IN_FLIGHT, Pipeline, single_task

ID = "W2"
TITLE = "W2 latency-bound"
STAGES = 3

Step = Callable[[int], Coroutine[Any, Any, int]]


def sleeping_step(delay: float) -> Step:
    async def step(x: int) -> int:
        await asyncio.sleep(delay)
        return x

    return step


def conveyor_pipeline(step: Step) -> Pipeline[int, int]:
    first, second, third = (single_task(task_name=f"sleep_{i}")(step) for i in range(STAGES))
    return first | second | third


async def run_conveyor(pipeline: Pipeline[int, int], n: int, max_in_flight: int | None) -> list[int]:
    return await pipeline(range(n), max_in_flight=max_in_flight).collect()


async def run_gather(step: Step, n: int) -> list[int]:
    async def chain(x: int) -> int:
        return await step(await step(await step(x)))

    return await asyncio.gather(*(chain(x) for x in range(n)))


async def run_handwritten(step: Step, n: int) -> list[Any]:
    stages = [handwritten.Single(step) for _ in range(STAGES)]
    return await handwritten.collect(range(n), stages, max_in_flight=DEFAULT_MAX_IN_FLIGHT)


BOUNDS: tuple[tuple[str, int | None], ...] = (
    (f"max_in_flight={DEFAULT_MAX_IN_FLIGHT} (default)", DEFAULT_MAX_IN_FLIGHT),
    ("max_in_flight=None", None),
    ("max_in_flight=10000", 10_000),
)


def run(settings: Settings) -> list[Result]:
    results: list[Result] = []
    variants = (
        (0.01, 10_000, settings.pick(5, 2), 1.5),
        (1.0, settings.pick(10_000, 2_000), settings.pick(2, 1), 1.1),
    )
    for delay, n, repeats, limit in variants:
        step = sleeping_step(delay)
        pipeline = conveyor_pipeline(step)
        cases: dict[str, Callable[[], Awaitable[Any]]] = {"gather": partial(run_gather, step, n)}
        if delay < 1:
            cases["hand-written streaming"] = partial(run_handwritten, step, n)
        for label, bound in BOUNDS:
            cases[label] = partial(run_conveyor, pipeline, n, bound)

        def check(out: list[int], n: int = n) -> None:
            assert out == list(range(n)), "wrong results"

        timings = time_async(cases, repeats, check)
        details = timing_details(timings) | {"repeats": repeats, "ideal_s": STAGES * delay}
        for label, _ in BOUNDS:
            results.append(Result(
                TITLE, f"{delay * 1000:g} ms × 3, {n // 1000}k items, {label}", "wall s",
                timings[label].median, "asyncio.gather", timings["gather"].median,
                Target(limit, "ratio", f"≤ {limit}× gather"),
                note=f"ideal {STAGES * delay:g} s", details=details,
            ))
        if "hand-written streaming" in timings:
            label = BOUNDS[0][0]
            results.append(Result(
                TITLE, f"{delay * 1000:g} ms × 3, {n // 1000}k items, {label}", "wall s",
                timings[label].median, "hand-written streaming", timings["hand-written streaming"].median,
                note="reference, no target",
            ))
    return results
