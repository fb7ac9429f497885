"""An async sink (-> None) piped onward is a mismatch even when the next stage takes Any."""

from typing import Any

from conveyor import single_task

PRODUCER = "save"
CONSUMER = "anything"


@single_task
async def save(text: str) -> None:
    print(text)


@single_task
def anything(value: Any) -> Any:
    return value


pipeline = save | anything  # E: pipeline-mismatch
