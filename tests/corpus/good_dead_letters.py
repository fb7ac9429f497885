"""Dead letters: branches taking the Failed[In] records of their task (or any Failed)."""

from typing import Any, assert_type

from conveyor import Failed, Pipeline, SingleTask, batch_task, single_task
from conveyor.task import NoOutput


@single_task
def parse(text: str) -> int:
    return int(text)


@batch_task(max_size=10)
def store(numbers: list[int]) -> None:
    print(numbers)


@single_task
def reject_text(record: Failed[str]) -> None:
    print(record.item.upper())


@single_task
def reject_number(record: Failed[int]) -> str:
    return str(record.item + 1)


@single_task
def write_line(line: str) -> None:
    print(line)


@single_task
def reject_anything(record: Failed[object]) -> None:
    print(record.error)


@single_task
def reject_any(record: Failed[Any]) -> None:
    print(record.task)


checked: SingleTask[str, int] = parse.with_dead_letters(reject_text)  # still a single task
batched = store.with_dead_letters(reject_number | write_line)  # a batch task's records are per item
both = parse.with_dead_letters(reject_anything) | batched
assert_type(both, Pipeline[str, NoOutput])
everywhere = (parse | store).with_dead_letters(reject_any)
owned = (parse.with_dead_letters(reject_text) | store).with_dead_letters(reject_anything)
