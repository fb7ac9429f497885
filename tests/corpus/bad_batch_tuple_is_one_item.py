"""Only a list return fans out: a batch task returning tuple[str, ...] aggregates into ONE item."""

from conveyor import batch_task, single_task

PRODUCER = "collect"
CONSUMER = "shout"


@batch_task
def collect(words: list[str]) -> tuple[str, ...]:
    return tuple(words)


@single_task
def shout(word: str) -> str:
    return word.upper()


pipeline = collect | shout  # E: pipeline-mismatch
