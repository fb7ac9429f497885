"""fan: a branch whose input does not fit the item type (int into a str branch)."""

from conveyor import fan, single_task

PRODUCER = "parse"
CONSUMER = "shout"


@single_task
def parse(text: str) -> int:
    return int(text)


@single_task
def double(number: int) -> int:
    return number * 2


@single_task
def shout(text: str) -> str:
    return text.upper()


pipeline = parse | fan(double, shout)  # E: pipeline-mismatch
