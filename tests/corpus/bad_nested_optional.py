"""Only a top-level None is dropped: tuple[int | None, ...] does not fit Sequence[int]."""

from collections.abc import Sequence

from conveyor import single_task

PRODUCER = "parse_row"
CONSUMER = "total"


@single_task
def parse_row(line: str) -> tuple[int | None, ...]:
    return tuple(int(p) if p.isdigit() else None for p in line.split(","))


@single_task
def total(numbers: Sequence[int]) -> int:
    return sum(numbers)


pipeline = parse_row | total  # E: pipeline-mismatch
