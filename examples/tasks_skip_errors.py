"""Skipping failures instead of stopping: `on_error="skip_item"` for single tasks
and `on_error="skip_batch"` for batch tasks.

Bad JSON lines are dropped one by one; in the batch task one bad word costs its
whole batch, and the other batches go through.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from conveyor import batch_task, single_task


@single_task(on_error="skip_item")
async def safe_parse(text: str) -> Any:
    return json.loads(text)  # a json.JSONDecodeError skips just this line


batches_seen: list[list[str]] = []


@batch_task(max_size=2, on_error="skip_batch")
async def safe_batch_process(words: list[str]) -> list[str]:
    batches_seen.append(list(words))
    if "boom" in words:
        raise RuntimeError("this batch cannot be processed")
    return [word.upper() for word in words]


async def main() -> tuple[list[Any], list[list[str]], list[str]]:
    batches_seen.clear()
    parsed = await safe_parse(['{"id": 1}', "not json", '{"id": 2}', "{oops", "[3]"]).collect()
    shouted = await safe_batch_process(["a", "b", "boom", "c", "d"]).collect()
    return parsed, batches_seen, shouted


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="  [log] %(message)s")
    parsed, batches, shouted = asyncio.run(main())
    print("parsed lines:     ", parsed)
    print("batches received: ", batches)
    print("batch outputs:    ", shouted)
