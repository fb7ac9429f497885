"""async def on both sides: the awaited types (bytes vs str) do not fit."""

import asyncio

from conveyor import single_task

PRODUCER = "fetch"
CONSUMER = "parse"


@single_task
async def fetch(url: str) -> bytes:
    await asyncio.sleep(0)
    return url.encode()


@single_task
async def parse(body: str) -> int:
    await asyncio.sleep(0)
    return len(body)


pipeline = fetch | parse  # E: pipeline-mismatch
