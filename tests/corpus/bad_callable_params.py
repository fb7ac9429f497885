"""Callables by signature: a Callable[[str], str] cannot be called with an int."""

from collections.abc import Callable

from conveyor import single_task

PRODUCER = "pick_formatter"
CONSUMER = "apply_to_one"


def shout(text: str) -> str:
    return text.upper()


@single_task
def pick_formatter(name: str) -> Callable[[str], str]:
    return shout


@single_task
def apply_to_one(fn: Callable[[int], str]) -> str:
    return fn(1)


pipeline = pick_formatter | apply_to_one  # E: pipeline-mismatch
