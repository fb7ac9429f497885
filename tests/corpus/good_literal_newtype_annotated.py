"""Literal fits its base type, a NewType fits its base, Annotated is stripped."""

from typing import Annotated, Literal, NewType

from conveyor import single_task

UserId = NewType("UserId", int)


@single_task
def level(score: int) -> Literal["low", "high"]:
    return "high" if score > 10 else "low"


@single_task
def shout(text: str) -> str:
    return text.upper()


@single_task
def lookup(name: str) -> UserId:
    return UserId(len(name))


@single_task
def next_id(number: int) -> int:
    return number + 1


@single_task
def measured(text: str) -> Annotated[int, "characters"]:
    return len(text)


@single_task
def positive(number: Annotated[int, "must be > 0"]) -> bool:
    return number > 0


literal = level | shout
newtype = lookup | next_id
annotated = measured | positive
annotated_consumer = next_id | positive
