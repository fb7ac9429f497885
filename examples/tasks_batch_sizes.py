"""Choosing batch sizes: large batches for a database, small ones for an API.

A fake database takes up to 1000 rows per insert, so 25 rows go in one call. A fake
external API accepts at most 10 items per request, so the same 25 items take three
requests (10, 10 and the remainder 5). Each fake records the size of every call.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TypedDict

from conveyor import batch_task


class Row(TypedDict):
    sku: str
    qty: int


class Quote(TypedDict):
    sku: str
    price: float


@dataclass
class FakeDatabase:
    call_sizes: list[int] = field(default_factory=list)
    next_id: int = 1

    async def bulk_insert(self, rows: list[Row]) -> list[int]:
        self.call_sizes.append(len(rows))
        await asyncio.sleep(0.01)
        first, self.next_id = self.next_id, self.next_id + len(rows)
        return list(range(first, self.next_id))


@dataclass
class FakePricingApi:
    call_sizes: list[int] = field(default_factory=list)

    async def batch_quote(self, skus: list[str]) -> list[Quote]:
        if len(skus) > 10:
            raise ValueError("at most 10 SKUs per request")
        self.call_sizes.append(len(skus))
        await asyncio.sleep(0.01)
        return [{"sku": sku, "price": 1.5 * int(sku.removeprefix("sku-"))} for sku in skus]


db = FakeDatabase()
api = FakePricingApi()


@batch_task(min_size=10, max_size=1000)  # big batches: one round trip per thousand rows
async def bulk_insert(rows: list[Row]) -> list[int]:
    return await db.bulk_insert(rows)


@batch_task(max_size=10)  # the API's own limit per request
async def api_batch(skus: list[str]) -> list[Quote]:
    return await api.batch_quote(skus)


@dataclass(frozen=True)
class Outcome:
    inserted_ids: list[int]
    insert_call_sizes: list[int]
    quotes: list[Quote]
    api_call_sizes: list[int]


async def main() -> Outcome:
    db.call_sizes.clear()
    db.next_id = 1
    api.call_sizes.clear()
    skus = [f"sku-{n}" for n in range(1, 26)]
    ids = await bulk_insert([{"sku": sku, "qty": 1} for sku in skus]).collect()
    quotes = await api_batch(skus).collect()
    return Outcome(ids, list(db.call_sizes), quotes, list(api.call_sizes))


if __name__ == "__main__":
    outcome = asyncio.run(main())
    print(f"database: {len(outcome.inserted_ids)} rows inserted in calls of {outcome.insert_call_sizes}")
    print(f"pricing API: {len(outcome.quotes)} quotes fetched in requests of {outcome.api_call_sizes}")
    print("first quotes:", outcome.quotes[:3])
