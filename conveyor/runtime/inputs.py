"""Adapters from the caller's data to the pull interface the first stage reads.

Every outlet in a run (these adapters and every stage) offers ``async get()``,
which returns the next item or :data:`END`.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Iterable, Iterator
from typing import Any, Final, Protocol

from conveyor.policy import short_repr

__all__ = ["EMPTY", "END", "NO_ITEM", "Outlet", "awaited", "open_input"]


class _Marker:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


#: Returned by ``get()`` when an outlet has no more items.
END: Final[Any] = _Marker("END")
#: The single pseudo-item a source task is called for.
NO_ITEM: Final[Any] = _Marker("NO_ITEM")
#: Returned by ``get_nowait()`` when no item is ready yet.
EMPTY: Final[Any] = _Marker("EMPTY")


class Outlet(Protocol):
    async def get(self) -> Any: ...

    def get_nowait(self) -> Any: ...


class _SyncInput:
    __slots__ = ("_iterator", "_count")

    def __init__(self, data: Iterable[Any]) -> None:
        self._iterator: Iterator[Any] = iter(data)
        self._count = 0

    async def get(self) -> Any:
        return self.get_nowait()

    def get_nowait(self) -> Any:
        try:
            item = next(self._iterator, END)
        except Exception as exc:
            exc.add_note(f"conveyor: raised by the pipeline's input data after {self._count} item(s)")
            raise
        self._count += 1
        return item


class _AsyncInput:
    __slots__ = ("_iterator", "_count")

    def __init__(self, data: AsyncIterable[Any]) -> None:
        self._iterator: AsyncIterator[Any] = aiter(data)
        self._count = 0

    def get_nowait(self) -> Any:
        return EMPTY  # an async iterator must be awaited

    async def get(self) -> Any:
        try:
            item = await anext(self._iterator, END)
        except Exception as exc:
            exc.add_note(f"conveyor: raised by the pipeline's input data after {self._count} item(s)")
            raise
        self._count += 1
        return item


class _SourceInput:
    """One NO_ITEM, then END: a source task runs once and produces the stream itself."""

    __slots__ = ("_given",)

    def __init__(self) -> None:
        self._given = False

    async def get(self) -> Any:
        return self.get_nowait()

    def get_nowait(self) -> Any:
        if self._given:
            return END
        self._given = True
        return NO_ITEM


async def awaited(awaitable: Awaitable[Any]) -> Any:
    """A coroutine for any awaitable (a Future, say), since tasks need coroutines."""
    return await awaitable


def open_input(data: Any, *, source: bool) -> Outlet:
    if source:
        return _SourceInput()
    if isinstance(data, AsyncIterable):
        return _AsyncInput(data)
    if isinstance(data, Iterable):
        return _SyncInput(data)
    raise TypeError(f"pipeline data must be an iterable or async iterable, got {short_repr(data)}")
