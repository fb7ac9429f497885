"""route_by_key: one branch does not take the item type (int into str)."""

from conveyor import route_by_key, single_task

PRODUCER = "parse"
CONSUMER = "shout"


@single_task
def parse(text: str) -> int:
    return int(text)


@single_task
def show(number: int) -> str:
    return str(number)


@single_task
def shout(text: str) -> str:
    return text.upper()


def parity(number: int) -> str:
    return "even" if number % 2 == 0 else "odd"


pipeline = parse | route_by_key(parity, {"even": show, "odd": shout})  # E: pipeline-mismatch
