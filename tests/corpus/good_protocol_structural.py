"""A class with the protocol's members fits the Protocol without inheriting from it."""

from __future__ import annotations

from typing import Protocol

from conveyor import single_task


class Describable(Protocol):
    def describe(self) -> str: ...


class Planet:
    def __init__(self, name: str) -> None:
        self.name = name

    def describe(self) -> str:
        return f"planet {self.name}"


@single_task
def discover(name: str) -> Planet:
    return Planet(name)


@single_task
def caption(thing: Describable) -> str:
    return thing.describe()


pipeline = discover | caption
