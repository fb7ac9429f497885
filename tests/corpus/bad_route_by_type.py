"""route_by_type: the branch listed for Circle takes Square."""

from dataclasses import dataclass

from conveyor import route_by_type, single_task

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
    return Square(name, 2.0)


@single_task
def square_area(square: Square) -> float:
    return square.side**2


@single_task
def describe(shape: Shape) -> str:
    return shape.name


pipeline = load | route_by_type((Circle, square_area), (Square, square_area), default=describe)  # E: pipeline-mismatch
