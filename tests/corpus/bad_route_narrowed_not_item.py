"""route: `then` takes what flows in (Square) but not what the predicate narrows to
(Circle). The runtime and the mypy plugin hand `then` the narrowed type; plain typing
falls back to the plain-predicate overload (a recorded gap)."""

from dataclasses import dataclass

from typing_extensions import TypeIs

from conveyor import route, single_task

PRODUCER = "emit_square"
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
def emit_square(name: str) -> Square:
    return Square(name, 1.0)


@single_task
def square_area(square: Square) -> float:
    return square.side**2


@single_task
def describe(shape: Shape) -> str:
    return shape.name


def is_circle(shape: Shape) -> TypeIs[Circle]:
    return isinstance(shape, Circle)


pipeline = emit_square | route(is_circle, square_area, describe)  # E: pipeline-mismatch
