"""The hint case: a batch task returning list[str] fans out single str items, so a
next stage taking list[str] gets a str each time (it should take str, or be a batch task)."""

from conveyor import batch_task, single_task

PRODUCER = "tokenize"
CONSUMER = "count_words"


@batch_task(max_size=10)
async def tokenize(lines: list[str]) -> list[str]:
    return [word for line in lines for word in line.split()]


@single_task
def count_words(words: list[str]) -> int:
    return len(words)


pipeline = tokenize | count_words  # E: pipeline-mismatch
