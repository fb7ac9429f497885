"""from __future__ import annotations: string annotations naming classes of this module are resolved."""

from __future__ import annotations

from dataclasses import dataclass

from conveyor import single_task

PRODUCER = "place"
CONSUMER = "refund"


@dataclass
class Order:
    id: int
    amount: float


@dataclass
class Receipt:
    order: Order
    text: str


@single_task
def place(amount: float) -> Order:
    return Order(1, amount)


@single_task
def refund(receipt: Receipt) -> float:
    return receipt.order.amount


pipeline = place | refund  # E: pipeline-mismatch
