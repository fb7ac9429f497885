"""fan: every item to every branch (tasks or sub-pipelines), their outputs merged
as the union; a stage after it takes that union."""

from typing import assert_type

from conveyor import Pipeline, fan, single_task


@single_task
def parse(text: str) -> int:
    return int(text)


@single_task
def double(number: int) -> int:
    return number * 2


@single_task
def show(number: int) -> str:
    return str(number)


@single_task
def exclaim(text: str) -> str:
    return text + "!"


@single_task
def describe(value: int | str) -> str:
    return repr(value)


merged = parse | fan(double, show)
assert_type(merged, Pipeline[str, int | str])
with_a_sub_pipeline = parse | fan(double, show | exclaim, show) | describe
assert_type(with_a_sub_pipeline, Pipeline[str, str])
same_outputs = parse | fan(show, show | exclaim)
assert_type(same_outputs, Pipeline[str, str])
