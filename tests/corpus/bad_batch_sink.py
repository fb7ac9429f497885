"""A batch sink (-> None) piped onward is a mismatch."""

from conveyor import batch_task, single_task

PRODUCER = "flush"
CONSUMER = "shout"


@batch_task(max_size=100)
async def flush(lines: list[str]) -> None:
    print(len(lines))


@single_task
def shout(text: str) -> str:
    return text.upper()


pipeline = flush | shout  # E: pipeline-mismatch
