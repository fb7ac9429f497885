"""Dead letters: a batch task's records hold one item each, not the list."""

from conveyor import Failed, batch_task, single_task

TASK = "store"
BRANCH = "reject_batch"


@batch_task(max_size=10)
def store(numbers: list[int]) -> None:
    print(numbers)


@single_task
def reject_batch(record: Failed[list[int]]) -> None:
    print(len(record.item))


checked = store.with_dead_letters(reject_batch)  # E: dead-letter
