"""Deferred side inputs type-check as their value in every checker: ``side(...)`` of an
awaitable, a source task or pipeline, or a stream; ``.as_list()`` / ``.as_single()``."""

from collections.abc import Iterator

from conveyor import side, single_task


async def load_config() -> dict[str, str]:
    return {"tag": "#"}


@single_task
def names() -> Iterator[str]:
    yield from ["ada", "grace"]


@single_task
def greeting() -> Iterator[str]:
    yield "hello"


@single_task
def shout(text: str) -> str:
    return text.upper()


@single_task
def count(text: str) -> int:
    return len(text)


@single_task
def tag(number: int, config: dict[str, str]) -> str:
    return f"{config['tag']}{number}"


@single_task
def keep(name: str, allowed: list[str]) -> str | None:
    return name if name in allowed else None


@single_task
def greet(name: str, *, word: str) -> str:
    return f"{word} {name}"


awaited = count | tag.with_inputs(config=side(load_config()))
all_items = keep.with_inputs(allowed=names.as_list()) | count
all_of_a_pipeline = keep.with_inputs(allowed=(names | shout).as_list()) | shout
one_item = keep.with_inputs(allowed=names.as_list()) | greet.with_inputs(word=side(greeting))
one_item_spelled = greet.with_inputs(word=greeting.as_single()) | count
of_a_pipeline = shout | greet.with_inputs(word=side(greeting | shout))
of_a_stream = greet.with_inputs(word=side(greeting())) | shout
all_of_a_stream = keep.with_inputs(allowed=names().as_list()) | shout
