"""Async generators emit their element type: AsyncIterator[R] / AsyncGenerator[R, None]."""

from collections.abc import AsyncGenerator, AsyncIterator

from conveyor import single_task


@single_task
async def countdown(start: int) -> AsyncIterator[int]:
    for value in range(start, 0, -1):
        yield value


@single_task
async def spell(value: int) -> AsyncGenerator[str, None]:
    yield str(value)


@single_task
async def measure(text: str) -> int:
    return len(text)


pipeline = countdown | spell | measure
