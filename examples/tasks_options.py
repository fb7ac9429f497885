"""Every option of `@single_task` at once: skip on error, retries with capped
exponential backoff, and a custom task name that shows up in the logs.

The fake `flaky_service` fails the first call for each word and refuses the word
"cursed" outright, so one item recovers on retry and one is skipped.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field

from conveyor import single_task


@dataclass
class FlakyService:
    """Fails the first call for every word; never accepts "cursed"."""

    calls: Counter[str] = field(default_factory=Counter)

    async def process(self, word: str) -> str:
        self.calls[word] += 1
        await asyncio.sleep(0)
        if word == "cursed":
            raise PermissionError(f"{word!r} is not allowed")
        if self.calls[word] == 1:
            raise ConnectionError("service hiccup, try again")
        return word.title()


flaky_service = FlakyService()


@single_task(
    on_error="skip_item",  # give up on an item after its last attempt, keep the rest
    retry_attempts=3,  # up to three calls per item in total
    retry_delay=0.01,  # wait before the second call...
    retry_exponential_backoff=True,  # ...then twice as long before the third
    retry_max_delay=0.05,  # never wait longer than this
    task_name="titlecase",  # the name used in logs and error messages
)
async def robust_task(word: str) -> str:
    return await flaky_service.process(word)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass(frozen=True)
class Outcome:
    results: list[str]
    calls: dict[str, int]
    logged_task_names: set[str]
    description: str


async def main() -> Outcome:
    flaky_service.calls.clear()
    capture = _Records()
    logger = logging.getLogger("conveyor")
    logger.addHandler(capture)
    try:
        results = await robust_task(["alpha", "cursed", "omega"]).collect()
    finally:
        logger.removeHandler(capture)
    return Outcome(
        results=results,
        calls=dict(flaky_service.calls),
        logged_task_names={str(getattr(r, "task_name", "?")) for r in capture.records},
        description=f"{robust_task.name}: {robust_task.describe()}",
    )


if __name__ == "__main__":
    outcome = asyncio.run(main())
    print("task:   ", outcome.description)
    print("results:", outcome.results)
    print("calls:  ", outcome.calls)
    print("logged as:", sorted(outcome.logged_task_names))
