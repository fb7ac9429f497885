"""An API enrichment that keeps going: a timeout, retries, a shared rate limit and a
dead-letter file.

Each order is enriched with its customer from an API (a local fake here: no
network). The API is slow now and then (a call that hangs is cut off by
`timeout=`), fails now and then (retried by `retry_attempts=`), allows only so
many requests a second (one `RateLimiter` shared by both tasks that call it), and
does not know every customer. Whatever still fails after all of that is written
to `rejects.jsonl` by the dead-letter branch, typed `Failed[Order]`, and the run
goes on: every order ends up enriched or in the file, none silently lost.
"""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from conveyor import Failed, RateLimiter, single_task


@dataclass(frozen=True)
class Order:
    id: int
    customer: str


@dataclass(frozen=True)
class Enriched:
    order: Order
    name: str
    country: str


class UnknownCustomer(LookupError):
    pass


@dataclass
class FakeCustomerAPI:
    """A stand-in for an HTTP API: answers after a short pause, hangs on `slow`
    customers, fails the first request for `flaky` ones, and does not know the rest."""

    customers: dict[str, tuple[str, str]]
    slow: set[str]
    flaky: set[str]
    requests: Counter[str] = field(default_factory=Counter)

    async def customer(self, key: str) -> tuple[str, str]:
        self.requests[key] += 1
        await asyncio.sleep(0.001)
        if key in self.slow:
            await asyncio.sleep(3600)  # a request that hangs: only the timeout ends it
        if key in self.flaky and self.requests[key] == 1:
            raise ConnectionError(f"GET /customers/{key}: connection reset")
        if key not in self.customers:
            raise UnknownCustomer(f"no customer {key!r}")
        return self.customers[key]


api = FakeCustomerAPI(
    customers={"ada": ("Ada Lovelace", "UK"), "grace": ("Grace Hopper", "US"), "alan": ("Alan Turing", "UK")},
    slow={"edsger"},
    flaky={"grace"},
)

#: The API allows 40 requests a second in all, 5 at once after a pause: one bucket
#: for every task that calls it (two here), across all their runs.
api_limit = RateLimiter(40, per=1.0, burst=5)


@single_task(timeout=0.2, retry_attempts=3, retry_delay=0.01, rate_limit=api_limit)
async def enrich(order: Order) -> Enriched:
    name, country = await api.customer(order.customer)
    return Enriched(order, name, country)


@single_task(timeout=0.2, rate_limit=api_limit)
async def check_country(enriched: Enriched) -> Enriched:
    await api.customer(enriched.order.customer)  # a second call to the same API, same limit
    return enriched


@single_task
def write_reject(record: Failed[Order], path: Path) -> None:
    """The dead-letter branch: one JSON line per order given up on (a side input names the file)."""
    with path.open("a", encoding="utf-8") as file:
        file.write(json.dumps({
            "order": record.item.id,
            "customer": record.item.customer,
            "task": record.task,
            "error": type(record.error).__name__,
            "attempts": record.attempts,
            "at": record.failed_at.isoformat(),
        }) + "\n")


@dataclass(frozen=True)
class Report:
    enriched: list[tuple[int, str]]
    rejects: list[tuple[int, str, str, int]]  # order id, customer, error, attempts
    dead_lettered: int
    requests: int  # calls made to the API, both tasks and every retry
    seconds: float
    table: str


async def main() -> Report:
    api.requests.clear()
    orders = [Order(1, "ada"), Order(2, "grace"), Order(3, "nobody"), Order(4, "edsger"), Order(5, "alan")]
    loop = asyncio.get_running_loop()
    with tempfile.TemporaryDirectory() as folder:
        rejects_file = Path(folder) / "rejects.jsonl"
        pipeline = enrich.with_dead_letters(write_reject.with_inputs(path=rejects_file)) | check_country
        started = loop.time()
        stream = pipeline(orders)
        results = await stream.collect()
        seconds = loop.time() - started
        rejects = [json.loads(line) for line in rejects_file.read_text(encoding="utf-8").splitlines()]
    return Report(
        enriched=[(r.order.id, r.name) for r in results],
        rejects=sorted((r["order"], r["customer"], r["error"], r["attempts"]) for r in rejects),
        dead_lettered=stream.stats["enrich"].dead_lettered,
        requests=sum(api.requests.values()),
        seconds=seconds,
        table=stream.stats.table(),
    )


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="  [log] %(message)s")
    report = asyncio.run(main())
    print("enriched:", report.enriched)
    print("rejects.jsonl:", report.rejects)
    print(f"{report.requests} API requests in {report.seconds:.2f} s (at most 40/s after a burst of 5)")
    print(report.table)
