"""route_by_type: each branch receives its own type; with a default branch the
item type is what the default takes."""

from dataclasses import dataclass
from typing import assert_type

from conveyor import Pipeline, route_by_type, single_task


@dataclass
class Shape:
    name: str


@dataclass
class Circle(Shape):
    radius: float


@dataclass
class Square(Shape):
    side: float


@single_task
def load(name: str) -> Shape:
    return Circle(name, 1.0) if name == "circle" else Square(name, 2.0)


@single_task
def circle_area(circle: Circle) -> float:
    return 3.14 * circle.radius**2


@single_task
def square_area(square: Square) -> float:
    return square.side**2


@single_task
def describe(shape: Shape) -> str:
    return shape.name


@single_task
def total(area: float | str) -> str:
    return str(area)


by_type = load | route_by_type((Circle, circle_area), (Square, square_area), default=describe)
assert_type(by_type, Pipeline[str, float | str])
one_and_default = load | route_by_type((Circle, circle_area), default=describe) | total
assert_type(one_and_default, Pipeline[str, str])
