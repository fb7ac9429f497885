"""Dead letters: a branch taking the records of another item type."""

from conveyor import Failed, single_task

TASK = "parse"
BRANCH = "reject_number"


@single_task
def parse(text: str) -> int:
    return int(text)


@single_task
def reject_number(record: Failed[int]) -> None:
    print(record.item + 1)


checked = parse.with_dead_letters(reject_number)  # E: dead-letter
