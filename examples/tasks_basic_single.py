"""A single task: one call per item, many items in flight at once.

`@single_task` turns an async function into a task. Calling the task with any
iterable gives a Stream; `collect()` gathers the results in input order, and
`async for` reads them one by one as they become available.
"""

from __future__ import annotations

import asyncio

from conveyor import single_task


@single_task
async def shout(word: str) -> str:
    await asyncio.sleep(0.01)  # stands in for real I/O
    return word.upper()


async def main() -> tuple[list[str], list[str]]:
    collected = await shout(["hello", "world"]).collect()

    streamed: list[str] = []
    async for word in shout(["streams", "are", "lazy"]):
        streamed.append(word)

    return collected, streamed


if __name__ == "__main__":
    collected, streamed = asyncio.run(main())
    print("collect():  ", collected)
    print("async for:  ", streamed)
