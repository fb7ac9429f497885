"""route_by_type without a default: the items (Shape) are not all of a listed type."""

from dataclasses import dataclass

from conveyor import route_by_type, single_task

PRODUCER = "load"
CONSUMER = "route(Circle, Square)"


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
    return Shape(name)


@single_task
def circle_area(circle: Circle) -> float:
    return 3.14 * circle.radius**2


@single_task
def square_area(square: Square) -> float:
    return square.side**2


pipeline = load | route_by_type((Circle, circle_area), (Square, square_area))  # E: pipeline-mismatch
