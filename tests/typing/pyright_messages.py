"""What pyright (and so Pylance) prints for common mistakes: public types and the fix,
never conveyor's internals. Checked by tests/test_static_pyright.py: each line marked
``# M: <case>`` has one error saying why (after at most pyright's "No overloads for"
summary), which contains that case's text; no other line has an error."""

from __future__ import annotations

from collections.abc import Iterator

from conveyor import side, single_task


@single_task
def parse(text: str) -> int:
    return int(text)


@single_task
def scale(number: int, factor: float, *, label: str = "") -> float:
    return number * factor


@single_task
def lines() -> Iterator[str]:
    yield "a"


@single_task
def tag(name: str, config: dict[str, str]) -> str:
    return config["tag"] + name


async def load_count() -> int:
    return 3


parse([1])  # M: data-type
scale.with_inputs(factor=2.0)([1.5])  # M: data-type-after-binding
scale([1])  # M: unbound
parse()  # M: no-data
lines(["a"])  # M: source-with-data
parse(["1"], max_in_flite=3)  # M: run-option
tag.with_inputs(config=side(load_count()))  # M: side-input-type
tag.with_inputs(config=side(parse))  # M: side-input-needs-data


@single_task(on_error="skip")  # M: option
def typo(text: str) -> int:
    return 1
