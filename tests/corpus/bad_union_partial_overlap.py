"""Overlapping unions: int | bytes into int | str (bytes fits no member)."""

from conveyor import single_task

PRODUCER = "decode"
CONSUMER = "describe"


@single_task
def decode(raw: bytes) -> int | bytes:
    return raw if raw else 0


@single_task
def describe(value: int | str) -> str:
    return str(value)


pipeline = decode | describe  # E: pipeline-mismatch
