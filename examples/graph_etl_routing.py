"""ETL with routing: parse rows, store the good ones in SQLite, and write the rejects
to a JSONL file with the reason, in one pass over the input.

    python examples/graph_etl_routing.py

``route_by_type`` sends each parsed row down the branch for its type; the diagram of
this pipeline is in docs/images/graph_etl.png.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from conveyor import batch_task, route_by_type, single_task


@dataclass(frozen=True)
class Order:
    order_id: int
    customer: str
    amount: float


@dataclass(frozen=True)
class Reject:
    line: str
    reason: str


@single_task
def parse(line: str) -> Order | Reject:
    """One CSV line -> an Order, or a Reject saying what is wrong with it."""
    fields = [f.strip() for f in line.split(",")]
    if len(fields) != 3:
        return Reject(line, f"expected 3 fields, got {len(fields)}")
    order_id, customer, amount = fields
    if not order_id.isdigit():
        return Reject(line, f"order id {order_id!r} is not a number")
    try:
        value = float(amount)
    except ValueError:
        return Reject(line, f"amount {amount!r} is not a number")
    if value < 0:
        return Reject(line, "negative amount")
    return Order(int(order_id), customer, value)


class Warehouse:
    """Good rows go into SQLite (one transaction per batch), rejects into JSONL."""

    def __init__(self, database: Path, rejects: Path) -> None:
        self.db = sqlite3.connect(database)
        self.db.execute("CREATE TABLE IF NOT EXISTS orders (order_id INTEGER PRIMARY KEY, customer TEXT, amount REAL)")
        self.rejects = rejects

    @batch_task(max_size=50)
    def store(self, orders: list[Order]) -> list[int]:
        with self.db:  # one transaction per batch
            self.db.executemany("INSERT INTO orders VALUES (?, ?, ?)", [(o.order_id, o.customer, o.amount) for o in orders])
        return [o.order_id for o in orders]

    @single_task
    def reject(self, row: Reject) -> str:
        with self.rejects.open("a") as out:
            out.write(json.dumps(asdict(row)) + "\n")
        return f"rejected: {row.reason}"


LINES = [
    "1, ada, 12.50",
    "2, grace, 7",
    "three, linus, 3.0",
    "4, margaret, -1",
    "5, barbara",
    "6, ken, 99.99",
]


def pipeline_for(warehouse: Warehouse):  # type: ignore[no-untyped-def]
    return parse | route_by_type((Order, warehouse.store), (Reject, warehouse.reject))


async def main() -> dict[str, object]:
    with tempfile.TemporaryDirectory() as folder:
        warehouse = Warehouse(Path(folder) / "orders.db", Path(folder) / "rejects.jsonl")
        results = await pipeline_for(warehouse)(LINES).collect()
        stored = warehouse.db.execute("SELECT order_id, customer, amount FROM orders ORDER BY order_id").fetchall()
        rejects = [json.loads(line) for line in warehouse.rejects.read_text().splitlines()]
        warehouse.db.close()
    return {"results": results, "stored": stored, "rejects": rejects}


if __name__ == "__main__":
    outcome = asyncio.run(main())
    for key, value in outcome.items():
        print(f"{key}: {value}")
