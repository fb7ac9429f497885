"""from __future__ import annotations with classes defined in this module."""

from __future__ import annotations

from dataclasses import dataclass

from conveyor import single_task


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
def bill(order: Order) -> Receipt:
    return Receipt(order, f"paid {order.amount}")


@single_task
def archive(receipt: Receipt) -> None:
    print(receipt.text)


pipeline = place | bill | archive
