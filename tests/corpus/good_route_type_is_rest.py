"""route with a TypeIs predicate: `then` gets the narrowed type and `otherwise` the
members of the item type it rules out (here int | str: int, then str)."""

from typing_extensions import TypeIs

from conveyor import route, single_task


@single_task
def parse(text: str) -> int | str:
    return int(text) if text.isdigit() else text


@single_task
def double(number: int) -> int:
    return number * 2


@single_task
def shout(text: str) -> str:
    return text.upper()


def is_int(value: int | str) -> TypeIs[int]:
    return isinstance(value, int)


split = parse | route(is_int, double, shout)
