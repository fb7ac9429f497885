"""A SINGLE task returning list[str] emits the list as ONE item (no fan-out): str does not take it."""

from conveyor import single_task

PRODUCER = "split"
CONSUMER = "shout"


@single_task
def split(line: str) -> list[str]:
    return line.split()


@single_task
def shout(word: str) -> str:
    return word.upper()


pipeline = split | shout  # E: pipeline-mismatch
