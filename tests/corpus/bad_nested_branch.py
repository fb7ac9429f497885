"""A fan nested in a fork branch: its second branch does not take the item type
(the message names both branches, innermost first)."""

from conveyor import fan, fork, single_task

PRODUCER = "parse"
CONSUMER = "shout"


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


pipeline = parse | fork(fan(double, shout), show)  # E: pipeline-mismatch
