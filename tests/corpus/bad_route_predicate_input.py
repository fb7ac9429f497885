"""route: the predicate takes str, but the items are Shape."""

from dataclasses import dataclass

from conveyor import route, single_task

PRODUCER = "load"
CONSUMER = "route(is_long: yes, otherwise)"


@dataclass
class Shape:
    name: str


@single_task
def load(name: str) -> Shape:
    return Shape(name)


@single_task
def describe(shape: Shape) -> str:
    return shape.name


def is_long(name: str) -> bool:
    return len(name) > 5


pipeline = load | route(is_long, describe, describe)  # E: pipeline-mismatch
