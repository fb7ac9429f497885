"""A base class does not fit where a subclass is expected."""

from conveyor import single_task

PRODUCER = "adopt"
CONSUMER = "walk"


class Animal:
    def __init__(self, name: str) -> None:
        self.name = name


class Dog(Animal):
    def bark(self) -> str:
        return f"{self.name}: woof"


@single_task
def adopt(name: str) -> Animal:
    return Animal(name)


@single_task
def walk(dog: Dog) -> str:
    return dog.bark()


pipeline = adopt | walk  # E: pipeline-mismatch
