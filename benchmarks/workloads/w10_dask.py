"""W10 Dask: 2,000 calls of a sync function sleeping 10 ms, on one in-process LocalCluster.

conveyor: one task with ``executor=DaskExecutor(address)``, either with no
``concurrency_limit`` (what reaches the cluster is bounded by ``max_in_flight``, as
``client.map`` submits everything) or with ``concurrency_limit=64`` (eight calls
queued per worker thread).
Baseline: ``client.map`` of the same function over every item plus
``as_completed(with_results=True)``, on the same kind of cluster, from the same
asynchronous client API. Cluster start-up is outside the timing in both cases; the
conveyor case includes connecting its own client (once per run).

Run in fresh processes, alternating: ``benchmarks/fresh.py w10-map w10-conveyor``.
Target: conveyor <= 1.3x the baseline.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from typing import Any

N = 2_000
DELAY = 0.01
WORKERS = 2
THREADS = 4  # per worker: 8 calls at once, ideal wall time N * DELAY / 8 = 2.5 s
#: fresh.py --cpu: CPU seconds of the process (the in-process cluster included: the sleeps
#: cost none, so this is the machinery's cost alone), steadier than wall time on a busy machine.
clock = time.process_time if os.environ.get("CONVEYOR_FRESH_CPU") else time.perf_counter


def work(x: int) -> int:
    time.sleep(DELAY)
    return x + 1


async def _cluster() -> Any:
    from distributed import LocalCluster

    return await LocalCluster(
        processes=False, n_workers=WORKERS, threads_per_worker=THREADS, dashboard_address=":0",
        asynchronous=True, silence_logs=40,
    )


async def _conveyor(limit: int | None) -> float:
    from conveyor import DaskExecutor, single_task

    async with await _cluster() as cluster:
        task = single_task(executor=DaskExecutor(cluster.scheduler_address), concurrency_limit=limit)(work)
        start = clock()
        results = await task(range(N)).collect()
        elapsed = clock() - start
    assert results == [x + 1 for x in range(N)]
    return elapsed


async def _map() -> float:
    from distributed import Client, as_completed

    async with await _cluster() as cluster:
        start = clock()
        async with Client(cluster.scheduler_address, asynchronous=True) as client:
            futures = client.map(work, range(N), pure=False)
            results = [result async for _, result in as_completed(futures, with_results=True)]
        elapsed = clock() - start
    assert sorted(results) == [x + 1 for x in range(N)]
    return elapsed


def w10_conveyor() -> float:
    return asyncio.run(_conveyor(None))


def w10_conveyor_64() -> float:
    return asyncio.run(_conveyor(64))


def w10_map() -> float:
    return asyncio.run(_map())


#: The fresh-process cases (benchmarks/fresh.py); distributed is imported only when one runs.
CASES: dict[str, Callable[[], float]] = {
    "w10-conveyor": w10_conveyor,  # W10: 2,000 calls of 10 ms on a Dask LocalCluster
    "w10-conveyor-64": w10_conveyor_64,  # the same with concurrency_limit=64
    "w10-map": w10_map,  # its baseline: client.map + as_completed
}
