"""An async generator yielding bytes piped into a str consumer."""

from collections.abc import AsyncIterator

from conveyor import single_task

PRODUCER = "chunks"
CONSUMER = "shout"


@single_task
async def chunks(size: int) -> AsyncIterator[bytes]:
    for _ in range(size):
        yield b"x"


@single_task
async def shout(text: str) -> str:
    return text.upper()


pipeline = chunks | shout  # E: pipeline-mismatch
