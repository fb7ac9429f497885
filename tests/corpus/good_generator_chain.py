"""Generator functions emit their element type: Iterator[R], Generator[R, ...]; a source generator starts a pipeline."""

from __future__ import annotations

from collections.abc import Generator, Iterator

from conveyor import single_task


@single_task
def lines() -> Iterator[str]:
    yield "a b"
    yield "c"


@single_task
def words(line: str) -> Iterator[str]:
    yield from line.split()


@single_task
def codes(word: str) -> Generator[int, None, None]:
    for char in word:
        yield ord(char)


@single_task
def hexed(code: int) -> str:
    return hex(code)


pipeline = words | codes | hexed
from_source = lines | words | codes | hexed
