"""route: a TypeIs predicate narrows to Circle, but the `then` branch takes Square."""

from dataclasses import dataclass

from typing_extensions import TypeIs

from conveyor import route, single_task

PRODUCER = "load"
CONSUMER = "square_area"


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
    return Circle(name, 1.0)


@single_task
def square_area(square: Square) -> float:
    return square.side**2


@single_task
def describe(shape: Shape) -> str:
    return shape.name


def is_circle(shape: Shape) -> TypeIs[Circle]:
    return isinstance(shape, Circle)


pipeline = load | route(is_circle, square_area, describe)  # E: pipeline-mismatch
