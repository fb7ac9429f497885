"""``as_single()`` is one item (a str), not the ``list[str]`` the parameter takes:
``as_list()`` would be."""

from collections.abc import Iterator

from conveyor import single_task

CONSUMER = "keep"
PARAMETER = "allowed"


@single_task
def names() -> Iterator[str]:
    yield from ["ada", "grace"]


@single_task
def keep(name: str, allowed: list[str]) -> str | None:
    return name if name in allowed else None


kept = keep.with_inputs(allowed=names.as_single())  # E: side-input
