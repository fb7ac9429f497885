"""A CPU-bound stage in worker processes: `executor="process"` uses every core.

`checksum` is pure Python arithmetic (a few milliseconds a call), so threads would
take turns on the GIL; in a process pool the calls run in parallel. The function is
defined at module level, so the workers find it by name, and it returns plain data,
which pickles. The script guards its entry point, as multiprocessing requires for
the spawn and forkserver start methods.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass

from conveyor import single_task


@single_task(executor="process")
def checksum(seed: int) -> tuple[int, int]:
    """About 5 ms of pure-Python work."""
    value = seed
    for step in range(25_000):
        value = (value * 31 + step) % 1_000_003
    return seed, value


@single_task
def label(result: tuple[int, int]) -> str:
    seed, value = result
    return f"{seed}:{value}"


@dataclass
class Report:
    labels: list[str]
    seconds: float
    workers: int


async def main() -> Report:
    started = time.perf_counter()
    labels = await (checksum | label)(range(100)).collect()
    seconds = time.perf_counter() - started
    workers = os.cpu_count() or 1
    print(f"{len(labels)} checksums in {seconds:.2f}s on {workers} worker process(es); first: {labels[0]}")
    return Report(labels, seconds, workers)


if __name__ == "__main__":
    asyncio.run(main())
