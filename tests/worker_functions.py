"""Plain module-level functions that tests make into tasks run in executors: worker
processes (a process pool, a Dask cluster) find them by name, so they live here, once."""

from __future__ import annotations

import time
from pathlib import Path


def double(x: int) -> int:
    return 2 * x


def times(x: int, factor: int) -> int:
    return factor * x


def total(xs: list[int]) -> list[int]:
    return [sum(xs)] * len(xs)


def fail_on_odd(x: int) -> int:
    if x % 2:
        raise ValueError(f"odd {x}")
    return x


def fail_first_time(x: int, marks: str) -> int:
    """Fails on the first attempt for each item (a file remembers it, across processes)."""
    mark = Path(marks) / str(x)
    if not mark.exists():
        mark.touch()
        raise ConnectionError(f"flaky {x}")
    return x


def sleepy(x: float) -> float:
    time.sleep(x)
    return x
