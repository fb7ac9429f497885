"""dict is invariant in its values: dict[str, bool] does not fit dict[str, int]."""

from conveyor import single_task

PRODUCER = "seen"
CONSUMER = "bump"


@single_task
def seen(word: str) -> dict[str, bool]:
    return {word: True}


@single_task
def bump(counts: dict[str, int]) -> dict[str, int]:
    counts["total"] = 1
    return counts


pipeline = seen | bump  # E: pipeline-mismatch
