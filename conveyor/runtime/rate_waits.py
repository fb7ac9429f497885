"""Waiting for a rate limiter's token at run time, and counting the wait.

The pump of a rate-limited stage takes a token right before it starts a call (after
it has the item and room for it), so while it waits it pulls nothing: upstream
fills up and waits in turn, the backpressure of a full stage. A retry takes a token
too (it calls the service again). The wait is added to the stage's ``rate_wait``
figure. A wait cut short (the run stopped) undoes its booking where it can, so a
shared limiter does not lose capacity to runs that ended.
"""

from __future__ import annotations

import asyncio
from time import perf_counter

from conveyor.rate_limit import RateLimiter
from conveyor.runtime.stats import StageStats

__all__ = ["take_token"]


async def take_token(limiter: RateLimiter, stats: StageStats) -> None:
    booked, wait = limiter.reserve()
    if wait <= 0:
        return
    started = perf_counter()
    try:
        await asyncio.sleep(wait)
    except BaseException:
        limiter.cancel(booked)
        raise
    finally:
        stats.rate_wait = (stats.rate_wait or 0.0) + perf_counter() - started
    limiter.started(booked)
