"""``stream.as_list()`` is ``list[int]`` here, and a list is invariant: not ``list[str]``."""

from collections.abc import Iterator

from conveyor import single_task

CONSUMER = "keep"
PARAMETER = "allowed"


@single_task
def numbers() -> Iterator[int]:
    yield from [1, 2]


@single_task
def keep(name: str, allowed: list[str]) -> str | None:
    return name if name in allowed else None


kept = keep.with_inputs(allowed=numbers().as_list())  # E: side-input
