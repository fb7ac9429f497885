"""Adapters from the caller's data to the pull interface the first stage reads.

Every outlet in a run (these adapters and every stage) offers ``async get()``,
which returns the next item or ``END``. An input adapter also closes the
iterator it opened (``aclose()``), so a generator given as data runs its
``finally`` when the run ends early, not at the next garbage collection.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Final, Protocol

from conveyor.policy import short_repr

if TYPE_CHECKING:
    import asyncio

    from conveyor.runtime.scheduler import Run

__all__ = ["EMPTY", "END", "Marker", "NO_ITEM", "Input", "Outlet", "WaitingOutlet", "awaited", "open_input"]


class Marker:
    """A sentinel in the pull interface (never a user item)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


#: Returned by ``get()`` when an outlet has no more items.
END: Final[Any] = Marker("END")
#: The single pseudo-item a source task is called for.
NO_ITEM: Final[Any] = Marker("NO_ITEM")
#: Returned by ``get_nowait()`` when no item is ready yet.
EMPTY: Final[Any] = Marker("EMPTY")


class Outlet(Protocol):
    async def get(self) -> Any: ...

    def get_nowait(self) -> Any: ...


class Input(Outlet, Protocol):
    async def aclose(self) -> None: ...


class WaitingOutlet:
    """An outlet whose one reader, finding nothing ready, waits until it is woken
    (an item, the end, or the run stopping). Subclasses say what ``get_nowait`` and
    ``run`` are; ``_reader`` is the waiting reader's future."""

    if TYPE_CHECKING:
        run: Run
        _reader: asyncio.Future[None] | None

        def get_nowait(self) -> Any: ...

    async def get(self) -> Any:
        while True:
            item = self.get_nowait()
            if item is not EMPTY:
                return item
            if self.run.stopping:
                return END  # failed or closed; the consumer gets any error from the run
            self._reader = self.run.loop.create_future()
            try:
                await self._reader
            finally:
                self._reader = None

    def wake_reader(self) -> None:
        reader = self._reader
        if reader is not None and not reader.done():
            reader.set_result(None)


class _SyncInput:
    __slots__ = ("_iterator", "_count")

    def __init__(self, data: Iterable[Any]) -> None:
        try:
            self._iterator: Iterator[Any] = iter(data)
        except Exception as exc:
            exc.add_note("conveyor: raised by the pipeline's input data when the run began to iterate it")
            raise
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

    async def aclose(self) -> None:
        close = getattr(self._iterator, "close", None)
        if close is not None:
            close()


class _AsyncInput:
    __slots__ = ("_iterator", "_count")

    def __init__(self, data: AsyncIterable[Any]) -> None:
        try:
            self._iterator: AsyncIterator[Any] = aiter(data)
        except Exception as exc:
            exc.add_note("conveyor: raised by the pipeline's input data when the run began to iterate it")
            raise
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

    async def aclose(self) -> None:
        aclose = getattr(self._iterator, "aclose", None)
        if aclose is not None:
            await aclose()


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

    async def aclose(self) -> None:
        pass  # the source task's own stage closes its generator


class _CheckedInput:
    """Checks each item of the caller's data before the first stage sees it (only
    made when item checks are on, so unchecked runs pay nothing)."""

    __slots__ = ("_outlet", "_check")

    def __init__(self, outlet: Input, check: Callable[[Any], None]) -> None:
        self._outlet = outlet
        self._check = check

    def get_nowait(self) -> Any:
        item = self._outlet.get_nowait()
        if item is not EMPTY and item is not END:
            self._check(item)
        return item

    async def get(self) -> Any:
        item = await self._outlet.get()
        if item is not END:
            self._check(item)
        return item

    async def aclose(self) -> None:
        await self._outlet.aclose()


async def awaited(awaitable: Awaitable[Any]) -> Any:
    """A coroutine for any awaitable (a Future, say), since tasks need coroutines."""
    return await awaitable


def open_input(data: Any, *, source: bool, check: Callable[[Any], None] | None = None) -> Input:
    """The input for the caller's data; ``check`` (if given) sees every item first."""
    if source:
        return _SourceInput()
    outlet: Input
    if isinstance(data, AsyncIterable):
        outlet = _AsyncInput(data)
    elif isinstance(data, Iterable):
        outlet = _SyncInput(data)
    else:
        raise TypeError(f"pipeline data must be an iterable or async iterable, got {short_repr(data)}")
    return outlet if check is None else _CheckedInput(outlet, check)
