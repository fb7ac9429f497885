"""Plain module-level functions that tests make into tasks run in executors: worker
processes (a process pool, a Dask cluster) find them by name, so they live here, once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any


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


class CarriesALock(Exception):
    """An exception that cannot travel back from a worker process (a lock does not pickle)."""

    def __init__(self, message: str) -> None:
        import threading

        super().__init__(message)
        self.lock = threading.Lock()


def raise_unpicklable(x: int) -> int:
    raise CarriesALock(f"bad {x}")


def die_on_a_thousand(x: int) -> int:
    if x == 1_000:
        import os

        os._exit(1)  # the worker process dies without a word
    return x


class CountsItsPickling:
    """A side input that counts, in this process, how often it is pickled."""

    pickled = 0

    def __init__(self, factor: int) -> None:
        self.factor = factor

    def __reduce__(self) -> tuple[Any, ...]:
        type(self).pickled += 1
        return CountsItsPickling, (self.factor,)


def scaled(x: int, by: CountsItsPickling) -> int:
    return x * by.factor


def varied(x: int) -> int | None:
    """Fails, filters or answers by the item: every outcome a call can have, mixed in one stream."""
    if x % 7 == 3:
        raise ValueError(f"bad {x}")
    if x % 5 == 4:
        return None  # filtered
    return x * 10


def varied_many(x: int) -> Iterator[int]:
    """A generator: none, one or several outputs by the item, or a failure after some."""
    for k in range(x % 4):
        if x % 9 == 8 and k == 1:
            raise ValueError(f"bad {x}")
        yield x * 10 + k


def slow_from_2000(x: int) -> int:
    """Quick calls, then slow ones: batches sized from the quick ones meet slow calls."""
    if x >= 2_000:
        time.sleep(0.05)
    return x


def logged_unevenly(x: int, log: str) -> int:
    """Appends the item to a file (every call, in whichever process), taking 2 ms, or 30
    ms for every tenth item, so that some batches run past their time."""
    time.sleep(0.03 if x % 10 == 9 else 0.002)
    with open(log, "a") as file:
        file.write(f"{x}\n")
    return x


def pid_of(x: int) -> int:
    import os

    return os.getpid()


class TwoArgError(Exception):
    """Pickles, but its pickle cannot be rebuilt (BaseException pickles ``args`` only)."""

    def __init__(self, a: str, b: str) -> None:
        super().__init__(f"{a} and {b}")


def raise_two_arg(x: int) -> int:
    raise TwoArgError("first", str(x))


class ViaPool:
    """Pickles plainly too; ``ForkingPickler.register`` gives it a reducer of its own
    (as torch.multiprocessing does for tensors), which marks what went through it."""

    def __init__(self, marked: bool = False) -> None:
        self.marked = marked


def _reduce_via_pool(value: ViaPool) -> tuple[Any, ...]:
    return ViaPool, (True,)


def register_via_pool() -> None:
    from multiprocessing.reduction import ForkingPickler

    ForkingPickler.register(ViaPool, _reduce_via_pool)


def was_marked(value: ViaPool) -> bool:
    return value.marked


def tables_held(_: object = None) -> int:
    """In a worker: how many sessions' tables (function and side inputs) it keeps."""
    from conveyor.runtime import process_worker

    return len(process_worker._TABLES)


def use_big(x: int, big: bytes) -> int:
    return x + len(big) * 0
