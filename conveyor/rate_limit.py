"""Rate limits: at most ``calls`` calls per ``per`` seconds, as a token bucket.

``rate_limit=`` on a task takes calls per second (``10``), calls per period
(``(100, 60.0)``), or a ``RateLimiter``. The first two give every run its own
bucket (each stage of each run); a ``RateLimiter`` object is one bucket shared by
every task and pipeline it is passed to, across all their runs, for a service whose
limit is global (like ``concurrency_limit``'s gate in ``concurrency.py``).

The bucket holds at most ``burst`` tokens and gains ``calls / per`` a second; a call
takes one. It is kept as a schedule (the "virtual scheduling" form of a token
bucket, GCRA): calls are granted by reservation, ``reserve()`` books the next turn
and says how long to wait for it, so waiters are served in the order they asked,
with no wake-ups to arrange and nothing to starve. A call that starts later than
booked (a busy event loop) moves the schedule on (``started``), so the calls as
made keep the limit: in any span of ``t`` seconds at most ``calls / per * t + burst``
of them start. A booking whose caller gives up (its run stopped) is undone.

Not thread-safe: runs sharing a limiter share one event loop (or run one after the
other). The clock is injectable, for tests of the bucket itself.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from conveyor.options import check_count, check_seconds, shown

__all__ = ["RateLimiter", "check_rate_limit"]


class RateLimiter:
    """At most ``calls`` calls per ``per`` seconds, with up to ``burst`` at once after an
    idle spell (default 1: calls evenly spaced, never more than ``calls`` in any
    ``per`` seconds). Pass one object to several tasks to share one limit."""

    __slots__ = ("calls", "per", "burst", "_interval", "_tolerance", "_due", "_last", "_clock")

    def __init__(self, calls: int, per: float = 1.0, *, burst: int = 1, clock: Callable[[], float] = time.monotonic) -> None:
        owner = "RateLimiter"
        self.calls = check_count(owner, "calls", calls, minimum=1)
        self.per = check_seconds(owner, "per", per, positive=True)
        self.burst = check_count(owner, "burst", burst, minimum=1)
        if not callable(clock):
            raise TypeError(f"{owner}: clock must be a function returning seconds, got {shown(clock)}")
        self._clock = clock
        # The bucket kept as a schedule (the "virtual scheduling" form of a token
        # bucket): the next call is due at _due; it may start up to _tolerance early
        # (the banked burst), and every call moves _due on by one interval.
        self._interval = self.per / self.calls
        self._tolerance = (self.burst - 1) * self._interval
        self._due = -math.inf  # starts full
        self._last = (math.nan, math.nan, math.nan)  # the last booking: start, _due before and after

    def reserve(self) -> tuple[float, float]:
        """Book the next call: ``(start, wait)``, the time (on this limiter's clock) it
        may start and the seconds until then (0: at once)."""
        now = self._clock()
        start = max(now, self._due - self._tolerance)
        before, self._due = self._due, max(self._due, start) + self._interval
        self._last = (start, before, self._due)
        return start, start - now

    def started(self, booked: float) -> None:
        """A booked call started now. One that started late (the event loop was busy)
        moves the schedule on, so that the calls as made, not only as booked, keep the limit."""
        now = self._clock()
        if now > booked:
            self._due = max(self._due, now + self._interval)

    def cancel(self, booked: float) -> None:
        """A booked call will not be made (its run stopped): the last booking is undone;
        an earlier one keeps its turn (later bookings are already counted after it)."""
        start, before, after = self._last
        if booked == start and self._due == after:
            self._due = before

    def for_run(self) -> RateLimiter:
        """The bucket a run uses: this very one, shared by every run."""
        return self

    def describe(self) -> str:
        burst = f" burst {self.burst}" if self.burst != 1 else ""
        return f"{self.calls}/{self.per:g}s{burst}{'' if type(self) is _PerRun else ' shared'}"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.describe()}>"


class _PerRun(RateLimiter):
    """``rate_limit=10`` or ``(10, 1.0)``: the same limit, a new bucket for every run."""

    __slots__ = ()

    def for_run(self) -> RateLimiter:
        return RateLimiter(self.calls, self.per, burst=self.burst, clock=self._clock)


def check_rate_limit(owner: str, value: object, is_source: bool) -> RateLimiter | None:
    """The task's limiter: calls per second, ``(calls, per_seconds)``, a RateLimiter, or None."""
    if value is None:
        return None
    if is_source:
        raise TypeError(
            f"{owner}: rate_limit= limits how often a task is called, and a source task (no item "
            f"parameter) is called once per run; put the limit on the tasks that call the service"
        )
    if isinstance(value, RateLimiter):
        return value
    if isinstance(value, tuple) and len(value) == 2:
        calls = check_count(owner, "rate_limit's calls", value[0], minimum=1)
        return _PerRun(calls, check_seconds(owner, "rate_limit's period", value[1], positive=True))
    if isinstance(value, int) and not isinstance(value, bool):
        return _PerRun(check_count(owner, "rate_limit", value, minimum=1))
    raise TypeError(
        f"{owner}: rate_limit must be calls per second (an int), (calls, per_seconds), "
        f"or a RateLimiter, got {shown(value)}"
    )
