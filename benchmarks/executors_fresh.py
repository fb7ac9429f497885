"""W8 and W9, the executor workloads, as fresh-process cases for benchmarks/fresh.py.

- W8, blocking I/O: a sync ``time.sleep(0.01)`` in each of 3 stages, 2,000 items,
  ``executor="thread"`` with 32 workers per stage, against a hand-written pipeline of
  three ``ThreadPoolExecutor(32)``s chained by done-callbacks (results in input order).
  Target: at most 1.2x the hand-written one.
- W9, CPU: a pure-Python function of about 5 ms, 400 items, ``executor="process"`` on
  the machine's cores, against the same task inline. Target: at least 1.7x faster.
  ``w9-pool`` is the bare ProcessPoolExecutor for reference (the ceiling of the pool).
- W9-short: the same with calls of about 50 µs, 20,000 items (``w9-short-process``,
  ``w9-short-inline``): where batching process calls matters most. No target.
- W1 inline A/B (the blocking-call check on the hot path): 3 chained stages, 100k items,
  sync (``w1-sync``) and async (``w1-async``), to run from two checkouts alternately.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

N8, DELAY8, WORKERS8 = 2_000, 0.01, 32
N9 = 400
CPU_STEPS = 80_000  # W9's call: about 5 ms, as the workload says (see cpu_step)
N9_SHORT, SHORT_STEPS = 20_000, 800  # W9-short: calls of about 50 µs
N1 = 100_000


def _timed(make: Callable[[], Any]) -> float:
    async def main() -> float:
        start = time.perf_counter()
        await make()
        return time.perf_counter() - start

    return asyncio.run(main())


def blocking_step(x: int) -> int:
    time.sleep(DELAY8)
    return x + 1


def w8_conveyor() -> float:
    from conveyor import Pipeline, single_task

    tasks = [single_task(executor="thread", concurrency_limit=WORKERS8, task_name=f"io{i}")(blocking_step)
             for i in range(3)]
    pipeline = Pipeline().add(*tasks)
    result: list[int] = []

    async def run() -> None:
        result.extend(await pipeline(range(N8)).collect())

    seconds = _timed(run)
    assert result == [x + 3 for x in range(N8)]
    return seconds


def w8_threadpool() -> float:
    """The hand-written version: each stage's pool hands its result to the next pool."""
    pools = [ThreadPoolExecutor(WORKERS8) for _ in range(3)]
    results: list[int | None] = [None] * N8
    done = threading.Event()
    remaining = [N8]
    lock = threading.Lock()

    def submit(stage: int, index: int, value: int) -> None:
        future = pools[stage].submit(blocking_step, value)
        future.add_done_callback(lambda f: advance(stage, index, f))

    def advance(stage: int, index: int, future: Future[int]) -> None:
        value = future.result()
        if stage + 1 < len(pools):
            submit(stage + 1, index, value)
            return
        results[index] = value
        with lock:
            remaining[0] -= 1
            if remaining[0] == 0:
                done.set()

    start = time.perf_counter()
    for index in range(N8):
        submit(0, index, index)
    done.wait()
    seconds = time.perf_counter() - start
    for pool in pools:
        pool.shutdown()
    assert results == [x + 3 for x in range(N8)]
    return seconds


def cpu_step(seed: int) -> int:
    """About 5 ms of pure-Python arithmetic (4.3 to 5.6 ms on the 2-core benchmark machine,
    whose clock speed varies from run to run; 40,000 steps measured 2.1 to 2.9 ms there)."""
    value = seed
    for step in range(CPU_STEPS):
        value = (value * 31 + step) % 1_000_003
    return value


def short_step(seed: int) -> int:
    """About 50 µs of the same arithmetic."""
    value = seed
    for step in range(SHORT_STEPS):
        value = (value * 31 + step) % 1_000_003
    return value


def _w9(executor: str, fn: Callable[[int], int] = cpu_step, items: int = N9) -> float:
    from conveyor import single_task

    task = single_task(executor=executor, task_name="cpu")(fn)  # type: ignore[call-overload]
    return _timed(lambda: task(range(items)).collect())


def w9_pool() -> float:
    """For reference: the bare pool conveyor makes (one ProcessPoolExecutor of the
    machine's cores), every call submitted at once and gathered on the loop."""
    import os
    from concurrent.futures import ProcessPoolExecutor

    async def run() -> None:
        loop = asyncio.get_running_loop()
        with ProcessPoolExecutor(os.cpu_count() or 1) as pool:
            await asyncio.gather(*(loop.run_in_executor(pool, cpu_step, i) for i in range(N9)))

    return _timed(run)


def w9_process() -> float:
    return _w9("process")


def w9_inline() -> float:
    return _w9("inline")


def w9_short_process() -> float:
    return _w9("process", short_step, N9_SHORT)


def w9_short_inline() -> float:
    return _w9("inline", short_step, N9_SHORT)


def _w1(is_async: bool) -> float:
    from conveyor import Pipeline, single_task

    def step(x: int) -> int:
        return x + 1

    async def astep(x: int) -> int:
        return x + 1

    tasks = [single_task(task_name=f"s{i}")(astep if is_async else step) for i in range(3)]
    pipeline = Pipeline().add(*tasks)
    return _timed(lambda: pipeline(range(N1)).collect())


def w1_sync() -> float:
    return _w1(False)


def w1_async() -> float:
    return _w1(True)


CASES: dict[str, Callable[[], float]] = {
    "w8-conveyor": w8_conveyor,
    "w8-threadpool": w8_threadpool,
    "w9-process": w9_process,
    "w9-inline": w9_inline,
    "w9-pool": w9_pool,
    "w9-short-process": w9_short_process,
    "w9-short-inline": w9_short_inline,
    "w1-sync": w1_sync,
    "w1-async": w1_async,
}
