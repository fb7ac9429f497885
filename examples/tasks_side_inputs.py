"""Side inputs: extra arguments a task receives besides the stream's items.

Every parameter after the first is a side input, bound with `.with_inputs(...)`.
A side input can be a plain value, an awaitable (awaited once per run) or a source
pipeline (a task with no item parameter, run once per run). Written `side(...)`,
`.as_list()` (all items) or `.as_single()` (one), the deferred ones type-check as
their value in every checker (pyright and Pylance too); the mypy plugin also takes
them as they are (`vat_rate=fetch_vat_rate()`, `regions=known_regions`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TypedDict

from conveyor import side, single_task


class Order(TypedDict):
    id: int
    region: str


class EnrichedOrder(TypedDict):
    id: int
    region: str
    enriched: str
    vat_rate: float
    region_known: bool


@single_task
async def known_regions() -> AsyncIterator[str]:
    """A source task: no item parameter, it produces a stream of its own."""
    for region in ("eu", "uk"):
        await asyncio.sleep(0)
        yield region


async def fetch_vat_rate() -> float:
    await asyncio.sleep(0.01)  # e.g. read from a config service
    return 0.2


@single_task
async def enrich_data(order: Order, config: dict[str, str], vat_rate: float, regions: list[str]) -> EnrichedOrder:
    return {
        **order,
        "enriched": config["enrichment_value"],
        "vat_rate": vat_rate,
        "region_known": order["region"] in regions,
    }


async def main() -> list[EnrichedOrder]:
    pipeline = enrich_data.with_inputs(
        config={"enrichment_value": "processed"},  # a plain value
        vat_rate=side(fetch_vat_rate()),  # an awaitable: its value
        regions=known_regions.as_list(),  # a source task: all of its items, as a list
    )
    data: list[Order] = [{"id": 1, "region": "eu"}, {"id": 2, "region": "us"}]
    return await pipeline(data).collect()


if __name__ == "__main__":
    for order in asyncio.run(main()):
        print(order)
