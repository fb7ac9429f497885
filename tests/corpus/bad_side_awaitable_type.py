"""``side(awaitable)`` is typed as the awaited value: a coroutine of an int is not a
``dict[str, str]`` side input. (At run time the value is checked once it is awaited,
so the marked line runs the pipeline.)"""

import asyncio

from conveyor import side, single_task

CONSUMER = "tag"
PARAMETER = "config"


async def load_count() -> int:
    return 3


@single_task
def tag(number: int, config: dict[str, str]) -> str:
    return f"{config['tag']}{number}"


result = asyncio.run(tag.with_inputs(config=side(load_count()))([1]).collect())  # E: side-input
