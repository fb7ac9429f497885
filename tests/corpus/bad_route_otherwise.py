"""route: the `otherwise` branch gets the item type (Shape), not the narrowed one."""

from dataclasses import dataclass

from typing_extensions import TypeIs

from conveyor import route, single_task

PRODUCER = "load"
CONSUMER = "radius_of"


@dataclass
class Shape:
    name: str


@dataclass
class Circle(Shape):
    radius: float


@single_task
def load(name: str) -> Shape:
    return Circle(name, 1.0)


@single_task
def circle_area(circle: Circle) -> float:
    return 3.14 * circle.radius**2


@single_task
def radius_of(circle: Circle) -> float:
    return circle.radius


def is_circle(shape: Shape) -> TypeIs[Circle]:
    return isinstance(shape, Circle)


pipeline = load | route(is_circle, circle_area, radius_of)  # E: pipeline-mismatch
