"""A task's ``concurrency_limit``, shared by every run of that task.

Users set ``concurrency_limit`` to protect what a task calls (a service, a database),
so the bound holds across runs: twenty runs of one pipeline at once still make at
most ``concurrency_limit`` calls of that task at a time. Copies of a task
(``with_inputs``, a method bound to an instance) share their original's gate.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["ConcurrencyGate"]


class ConcurrencyGate:
    """How many calls of one task are running now, across all of its runs.

    Not thread-safe: runs that share a gate share one event loop.
    """

    __slots__ = ("limit", "running", "_waiters")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.running = 0
        self._waiters: set[Callable[[], None]] = set()  # wake-ups of pumps waiting for room

    @property
    def full(self) -> bool:
        return self.running >= self.limit

    def release(self, count: int = 1) -> None:
        self.running -= count
        if self._waiters:
            for wake in list(self._waiters):  # each pump re-checks; one of them gets the room
                wake()

    def wait_with(self, wake: Callable[[], None]) -> None:
        self._waiters.add(wake)

    def stop_waiting(self, wake: Callable[[], None]) -> None:
        self._waiters.discard(wake)

    def __repr__(self) -> str:
        return f"<ConcurrencyGate {self.running}/{self.limit}>"
