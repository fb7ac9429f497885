"""route: a TypeIs / TypeGuard predicate hands the `then` branch the narrowed type,
`otherwise` the item type; a plain predicate hands both the item type."""

from dataclasses import dataclass
from typing import TypeGuard, assert_type

from typing_extensions import TypeIs

from conveyor import Pipeline, route, single_task


@dataclass
class Shape:
    name: str


@dataclass
class Circle(Shape):
    radius: float


@single_task
def load(name: str) -> Shape:
    return Circle(name, 1.0) if name == "circle" else Shape(name)


@single_task
def circle_area(circle: Circle) -> float:
    return 3.14 * circle.radius**2


@single_task
def describe(shape: Shape) -> str:
    return shape.name


def is_circle(shape: Shape) -> TypeIs[Circle]:
    return isinstance(shape, Circle)


def looks_round(shape: object) -> TypeGuard[Circle]:
    return isinstance(shape, Circle)


def is_long(shape: Shape) -> bool:
    return len(shape.name) > 5


narrowed = load | route(is_circle, circle_area, describe)
assert_type(narrowed, Pipeline[str, float | str])
guarded = load | route(looks_round, circle_area, describe)
assert_type(guarded, Pipeline[str, float | str])
only_then = load | route(is_circle, circle_area)
assert_type(only_then, Pipeline[str, float])
plain_predicate = load | route(is_long, describe, describe)
assert_type(plain_predicate, Pipeline[str, str])
