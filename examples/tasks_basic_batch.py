"""A batch task: the function receives lists of items, at most `max_size` long.

Six letters with `max_size=5` make one batch of five and a remainder batch of one
(the remainder is always processed). The returned list fans out again, so whoever
reads the stream sees single items, not lists.
"""

from __future__ import annotations

import asyncio

from conveyor import batch_task

batches_seen: list[list[str]] = []


@batch_task(max_size=5)
async def bulk_upper(letters: list[str]) -> list[str]:
    batches_seen.append(list(letters))
    await asyncio.sleep(0.01)  # one round trip for the whole batch
    return [letter.upper() for letter in letters]


async def main() -> tuple[list[list[str]], list[str]]:
    batches_seen.clear()
    outputs: list[str] = []
    async for letter in bulk_upper(["a", "b", "c", "d", "e", "f"]):
        outputs.append(letter)
    return batches_seen, outputs


if __name__ == "__main__":
    batches, outputs = asyncio.run(main())
    for number, batch in enumerate(batches, start=1):
        print(f"batch {number}: {batch}")
    print("stream: ", outputs)
