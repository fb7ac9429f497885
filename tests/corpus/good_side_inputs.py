"""Side inputs are not part of the item flow: only the first parameter is the item type."""

from conveyor import single_task


@single_task
def count(text: str) -> int:
    return len(text)


@single_task
def scale(number: int, factor: float, label: str = "") -> float:
    return number * factor


@single_task
def tag(value: float, *, prefix: str) -> str:
    return f"{prefix}{value}"


@single_task
def repeat(text: str, times: int) -> str:
    return text * times


pipeline = count | scale.with_inputs(factor=2.0) | tag.with_inputs(prefix="#")
positional = count | scale.with_inputs(0.5, "half") | tag.with_inputs(prefix="")
side_type_differs = tag.with_inputs(prefix=">") | repeat.with_inputs(times=2)
