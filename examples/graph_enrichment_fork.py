"""Enrichment: ask two services about every product at once and combine the answers.

    python examples/graph_enrichment_fork.py

``fork(price, stock)`` sends each product id to both branches and pairs their answers,
typed ``tuple[Price, Stock]``; ``combine`` receives one pair per product, in input order.
Each branch is a full pipeline: here the stock service is called in batches.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from conveyor import batch_task, fork, single_task


@dataclass(frozen=True)
class Price:
    product: str
    cents: int


@dataclass(frozen=True)
class Stock:
    product: str
    available: int


@dataclass(frozen=True)
class Listing:
    product: str
    price: str
    in_stock: bool


PRICES = {"apple": 120, "pear": 95, "fig": 310, "kiwi": 55}
STOCK = {"apple": 40, "pear": 0, "fig": 7, "kiwi": 12}


@single_task(concurrency_limit=4, retry_attempts=3, retry_delay=0.01)
async def price(product: str) -> Price:
    await asyncio.sleep(0.01)  # a call to the pricing service
    return Price(product, PRICES[product])


@batch_task(max_size=2, max_wait=0.05)
async def stock(products: list[str]) -> list[Stock]:
    await asyncio.sleep(0.02)  # one call to the inventory service per batch
    return [Stock(p, STOCK[p]) for p in products]


@single_task
def combine(pair: tuple[Price, Stock]) -> Listing:
    quote, level = pair
    return Listing(quote.product, f"{quote.cents / 100:.2f}", level.available > 0)


pipeline = fork(price, stock) | combine


async def main() -> list[Listing]:
    return await pipeline(["apple", "pear", "fig", "kiwi"]).collect()


if __name__ == "__main__":
    for listing in asyncio.run(main()):
        print(listing)
