"""What a task returns becomes what flows downstream.

`parse_and_validate` returns one dict per JSON line. `aggregate_results` is a
batch task that returns a single dict, not a list, so it emits one summary per
batch of (at most) five records.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, TypedDict

from conveyor import batch_task, single_task


class Parsed(TypedDict):
    parsed: Any
    length: int
    valid: bool


class Summary(TypedDict):
    count: int
    total_length: int
    all_valid: bool


@single_task
async def parse_and_validate(text: str) -> Parsed:
    data = json.loads(text)
    return {"parsed": data, "length": len(text), "valid": isinstance(data, dict)}


@batch_task(max_size=5)
async def aggregate_results(items: list[Parsed]) -> Summary:
    return {
        "count": len(items),
        "total_length": sum(item["length"] for item in items),
        "all_valid": all(item["valid"] for item in items),
    }


async def main() -> tuple[list[Parsed], list[Summary]]:
    lines = ['{"a": 1}', '{"b": 22}', "[1, 2]", '{"c": 3}', '{"d": 4}', '{"e": 5}', '{"f": 666}']
    parsed = await parse_and_validate(lines).collect()
    summaries = await (parse_and_validate | aggregate_results)(lines).collect()
    return parsed, summaries


if __name__ == "__main__":
    parsed, summaries = asyncio.run(main())
    print("per line:")
    for record in parsed:
        print("  ", record)
    print("per batch of five:")
    for summary in summaries:
        print("  ", summary)
