"""Dead letters: a pipeline's branch must take Failed records, not items."""

from conveyor import single_task

TASK = "parse"
BRANCH = "write_line"


@single_task
def parse(text: str) -> int:
    return int(text)


@single_task
def double(number: int) -> int:
    return number * 2


@single_task
def write_line(line: str) -> None:
    print(line)


pipeline = (parse | double).with_dead_letters(write_line)  # E: dead-letter
