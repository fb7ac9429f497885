"""Side inputs passed as they are (an awaitable, a source task or pipeline, a Stream):
the runtime and the mypy plugin take them; plain typing sees only the parameter's type
(a recorded gap: spell them ``side(...)``, ``.as_list()``, ``.as_single()`` there)."""

from collections.abc import Iterator

from conveyor import single_task


async def load_config() -> dict[str, str]:
    return {"tag": "#"}


@single_task
def names() -> Iterator[str]:
    yield from ["ada", "grace"]


@single_task
def greeting() -> Iterator[str]:
    yield "hello"


@single_task
def tag(name: str, config: dict[str, str]) -> str:
    return f"{config['tag']}{name}"


@single_task
def keep(name: str, allowed: list[str]) -> str | None:
    return name if name in allowed else None


@single_task
def greet(name: str, *, word: str) -> str:
    return f"{word} {name}"


raw = keep.with_inputs(allowed=names) | tag.with_inputs(config=load_config()) | greet.with_inputs(word=greeting())
