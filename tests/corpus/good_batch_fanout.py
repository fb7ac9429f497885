"""A batch task returning list[str] fans out: the next stage receives single str items."""

from conveyor import batch_task, single_task


@single_task
def strip(line: str) -> str:
    return line.strip()


@batch_task(max_size=10)
async def tokenize(lines: list[str]) -> list[str]:
    return [word for line in lines for word in line.split()]


@single_task
def shout(word: str) -> str:
    return word.upper()


pipeline = strip | tokenize | shout
