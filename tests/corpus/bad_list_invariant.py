"""list is invariant: list[bool] does not fit list[int] (though bool fits int)."""

from conveyor import single_task

PRODUCER = "flags"
CONSUMER = "append_zero"


@single_task
def flags(text: str) -> list[bool]:
    return [c.isupper() for c in text]


@single_task
def append_zero(numbers: list[int]) -> list[int]:
    numbers.append(0)
    return numbers


pipeline = flags | append_zero  # E: pipeline-mismatch
