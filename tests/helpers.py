"""Small helpers shared by the tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from typing import Any


async def aiter_of(items: Iterable[Any], delay: float = 0.0) -> AsyncIterator[Any]:
    for item in items:
        if delay:
            await asyncio.sleep(delay)
        yield item


async def settle(timeout: float = 5.0, *, exclude: Iterable[asyncio.Task[Any]] = ()) -> set[asyncio.Task[Any]]:
    """Let cancelled work finish; return the tasks (other than this one and ``exclude``) still pending."""
    me = asyncio.current_task()
    skip = set(exclude)
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        others = {t for t in asyncio.all_tasks() if t is not me and not t.done() and t not in skip}
        if not others or asyncio.get_running_loop().time() > deadline:
            return others
        await asyncio.sleep(0.01)
