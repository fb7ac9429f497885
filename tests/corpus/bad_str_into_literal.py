"""A plain str does not fit a Literal consumer."""

from typing import Literal

from conveyor import single_task

PRODUCER = "normalise"
CONSUMER = "set_mode"


@single_task
def normalise(text: str) -> str:
    return text.lower()


@single_task
def set_mode(mode: Literal["fast", "safe"]) -> bool:
    return mode == "fast"


pipeline = normalise | set_mode  # E: pipeline-mismatch
