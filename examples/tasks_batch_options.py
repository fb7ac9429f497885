"""`@batch_task` options: batch sizes, retrying a whole batch, and skipping a
batch that keeps failing.

Ten records in batches of at most three. A fake bulk database times out once on
the batch holding record 4 (the retry saves it) and always rejects the batch
holding a record with an empty name (after three attempts that batch is skipped
while the other batches are stored). The last record forms a batch of one: the
remainder is processed even though it is smaller than `min_size`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import TypedDict

from conveyor import batch_task


class Record(TypedDict):
    id: int
    name: str


@dataclass
class FakeBulkDatabase:
    stored_ids: set[int] = field(default_factory=set)
    attempts: Counter[tuple[int, ...]] = field(default_factory=Counter)

    async def bulk_upsert(self, records: list[Record]) -> list[Record]:
        ids = tuple(record["id"] for record in records)
        self.attempts[ids] += 1
        await asyncio.sleep(0)
        if any(not record["name"] for record in records):
            raise ValueError("constraint violated: name must not be empty")
        if 4 in ids and self.attempts[ids] == 1:
            raise TimeoutError("database busy")
        self.stored_ids.update(ids)
        return [{"id": record["id"], "name": record["name"].title()} for record in records]


db = FakeBulkDatabase()


@batch_task(
    min_size=2,  # (together with max_wait) the smallest batch worth sending early
    max_size=3,  # at most three records per call
    on_error="skip_batch",  # a batch that still fails after its retries is dropped
    retry_attempts=3,  # three calls per batch in total
    retry_delay=0.01,
    task_name="bulk_processor",
)
async def store_records(records: list[Record]) -> list[Record]:
    return await db.bulk_upsert(records)


@dataclass(frozen=True)
class Outcome:
    stored: list[Record]
    attempts_per_batch: dict[tuple[int, ...], int]


async def main() -> Outcome:
    db.stored_ids.clear()
    db.attempts.clear()
    names = ["ada", "grace", "alan", "edsger", "barbara", "donald", "ken", "", "dennis", "frances"]
    records: list[Record] = [{"id": i, "name": name} for i, name in enumerate(names, start=1)]
    stored = await store_records(records).collect()
    return Outcome(stored=stored, attempts_per_batch=dict(sorted(db.attempts.items())))


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="  [log] %(message)s")
    outcome = asyncio.run(main())
    for ids, attempts in outcome.attempts_per_batch.items():
        print(f"batch {ids}: {attempts} attempt(s)")
    print("stored:", [f"{r['id']}:{r['name']}" for r in outcome.stored])
