"""Literals with no value in common: Literal["low", "high"] does not fit Literal["fast", "safe"]."""

from typing import Literal

from conveyor import single_task

PRODUCER = "level"
CONSUMER = "set_mode"


@single_task
def level(score: int) -> Literal["low", "high"]:
    return "high" if score > 10 else "low"


@single_task
def set_mode(mode: Literal["fast", "safe"]) -> bool:
    return mode == "fast"


pipeline = level | set_mode  # E: pipeline-mismatch
