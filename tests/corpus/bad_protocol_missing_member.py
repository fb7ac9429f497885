"""A class without the protocol's method does not fit the Protocol."""

from __future__ import annotations

from typing import Protocol

from conveyor import single_task

PRODUCER = "dig"
CONSUMER = "caption"


class Describable(Protocol):
    def describe(self) -> str: ...


class Rock:
    def __init__(self, weight: float) -> None:
        self.weight = weight

    def weigh(self) -> float:
        return self.weight


@single_task
def dig(depth: float) -> Rock:
    return Rock(depth * 2)


@single_task
def caption(thing: Describable) -> str:
    return thing.describe()


pipeline = dig | caption  # E: pipeline-mismatch
