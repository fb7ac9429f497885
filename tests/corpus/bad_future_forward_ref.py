"""from __future__ import annotations: the tasks name classes defined AFTER them (but before
composing), so the annotations only resolve once the module has defined them."""

from __future__ import annotations

from conveyor import single_task

PRODUCER = "make_cat"
CONSUMER = "walk"


@single_task
def make_cat(name: str) -> Cat:
    return Cat(name)


@single_task
def walk(dog: Dog) -> str:
    return f"walked {dog.name}"


class Cat:
    def __init__(self, name: str) -> None:
        self.name = name


class Dog:
    def __init__(self, name: str) -> None:
        self.name = name


pipeline = make_cat | walk  # E: pipeline-mismatch
