"""Fail fast, the default: the first error stops the run and reaches the consumer.

With `on_error="fail"` (the default) the original exception is raised where the
stream is consumed, with notes naming the task and the item. `concurrency_limit=1`
makes the task take items strictly one after another here, so it is plain to see
that nothing after the bad item is processed.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from conveyor import single_task

processed: list[str] = []


@single_task(concurrency_limit=1)  # on_error="fail" is the default
async def critical_task(item: str) -> str:
    processed.append(item)
    if not item:
        raise ValueError("Empty item not allowed")
    return item


@dataclass(frozen=True)
class Outcome:
    error: str
    notes: list[str] = field(default_factory=list)
    processed: list[str] = field(default_factory=list)


async def main() -> Outcome:
    processed.clear()
    try:
        await critical_task(["alpha", "", "gamma"]).collect()
    except ValueError as exc:
        return Outcome(f"{type(exc).__name__}: {exc}", list(getattr(exc, "__notes__", [])), list(processed))
    raise AssertionError("the empty item should have stopped the run")


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="  [log] %(message)s")
    outcome = asyncio.run(main())
    print("consumer caught:", outcome.error)
    for note in outcome.notes:
        print("  note:", note)
    print("items the task saw:", outcome.processed, "('gamma' never ran)")
