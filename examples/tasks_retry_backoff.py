"""Retrying a flaky call with exponential backoff, then skipping what never works.

A fake HTTP client fails a given number of times per URL before answering.
`retry_attempts=4` allows four calls in total; the waits between them grow
0.01s, 0.02s, then 0.04s capped to `retry_max_delay=0.03`. A URL that is down for
good is skipped once its attempts are used up.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import TypedDict

from conveyor import single_task


class Response(TypedDict):
    url: str
    status: int


@dataclass
class FakeHttpClient:
    """Fails the first `failures[url]` requests for each URL (forever when None)."""

    failures: dict[str, int | None]
    calls: Counter[str] = field(default_factory=Counter)

    async def get(self, url: str) -> Response:
        self.calls[url] += 1
        await asyncio.sleep(0)
        allowed_failures = self.failures.get(url, 0)
        if allowed_failures is None or self.calls[url] <= allowed_failures:
            raise ConnectionError(f"GET {url}: connection reset")
        return {"url": url, "status": 200}


http_client = FakeHttpClient(failures={"/stable": 0, "/flaky": 2, "/down": None})


@single_task(
    retry_attempts=4,
    retry_delay=0.01,
    retry_exponential_backoff=True,
    retry_max_delay=0.03,
    on_error="skip_item",  # after the fourth failed call, drop the URL
)
async def api_call(url: str) -> Response:
    return await http_client.get(url)


@dataclass(frozen=True)
class Outcome:
    responses: list[Response]
    calls: dict[str, int]
    waits: list[float]  # the pause after failed attempt 1, 2, 3


async def main() -> Outcome:
    http_client.calls.clear()
    responses = await api_call(["/stable", "/flaky", "/down"]).collect()
    retry = api_call.policy.retry
    return Outcome(
        responses=responses,
        calls=dict(http_client.calls),
        waits=[retry.delay_after(attempt) for attempt in range(1, retry.attempts)],
    )


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="  [log] %(message)s")
    outcome = asyncio.run(main())
    print("responses:", outcome.responses)
    print("calls per URL:", outcome.calls)
    print("backoff schedule (s):", outcome.waits)
