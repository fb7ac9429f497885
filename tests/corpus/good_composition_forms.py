"""Sub-pipelines joined with |, Pipeline().add(...), and a task declared as a method."""

from conveyor import Pipeline, single_task


@single_task
def parse(text: str) -> int:
    return int(text)


@single_task
def double(number: int) -> int:
    return number * 2


@single_task
def show(number: int) -> str:
    return str(number)


@single_task
def shout(text: str) -> str:
    return text.upper()


class Greeter:
    def __init__(self, greeting: str) -> None:
        self.greeting = greeting

    @single_task
    def greet(self, name: str) -> str:
        return f"{self.greeting}, {name}"


front = parse | double
back = show | shout
joined = front | back
inline = (parse | double) | (show | shout)
added = Pipeline().add(parse, double, show)
added_parts = Pipeline().add(parse | double, show).add(shout)
method = show | Greeter("hello").greet | shout
