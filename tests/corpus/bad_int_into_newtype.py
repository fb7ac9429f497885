"""A NewType fits its base, but the base does not fit the NewType."""

from typing import NewType

from conveyor import single_task

PRODUCER = "count"
CONSUMER = "load_user"

UserId = NewType("UserId", int)


@single_task
def count(text: str) -> int:
    return len(text)


@single_task
def load_user(user: UserId) -> str:
    return f"user {user}"


pipeline = count | load_user  # E: pipeline-mismatch
