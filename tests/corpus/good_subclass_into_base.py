"""A subclass fits where its base class is expected."""

from conveyor import single_task


class Animal:
    def __init__(self, name: str) -> None:
        self.name = name


class Dog(Animal):
    def bark(self) -> str:
        return f"{self.name}: woof"


@single_task
def adopt(name: str) -> Dog:
    return Dog(name)


@single_task
def feed(animal: Animal) -> str:
    return f"fed {animal.name}"


@single_task
def greet(thing: object) -> str:
    return repr(thing)


pipeline = adopt | feed
to_object = adopt | greet
