"""tee: side branches (sinks or pipelines) take a copy; the stream goes on unchanged."""

from typing import assert_type

from conveyor import Pipeline, single_task, tee


@single_task
def parse(text: str) -> int:
    return int(text)


@single_task
def store(number: int) -> None:
    print(number)


@single_task
def show(number: int) -> str:
    return str(number)


@single_task
def log_line(text: str) -> None:
    print(text)


@single_task
def double(number: int) -> int:
    return number * 2


copied = parse | tee(store, show | log_line) | double
assert_type(copied, Pipeline[str, int])
unchanged = parse | tee(show)
assert_type(unchanged, Pipeline[str, int])
