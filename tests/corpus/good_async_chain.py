"""async def stages: the coroutine is unwrapped, the awaited type flows on."""

import asyncio

from conveyor import single_task


@single_task
async def fetch(url: str) -> bytes:
    await asyncio.sleep(0)
    return url.encode()


@single_task
async def size(body: bytes) -> int:
    await asyncio.sleep(0)
    return len(body)


@single_task
def report(count: int) -> str:
    return str(count)


pipeline = fetch | size | report
