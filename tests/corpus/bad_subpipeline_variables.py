"""Sub-pipelines built separately (each fine) and joined later: the junction is checked."""

from __future__ import annotations

from conveyor import single_task

PRODUCER = "measure"
CONSUMER = "shout"


@single_task
def strip(text: str) -> str:
    return text.strip()


@single_task
def measure(text: str) -> float:
    return len(text) / 2


@single_task
def shout(text: str) -> str:
    return text.upper()


@single_task
def exclaim(text: str) -> str:
    return text + "!"


front = strip | measure
back = shout | exclaim
pipeline = front | back  # E: pipeline-mismatch
