"""Side inputs: the extra arguments a task receives besides the stream's items.

``task.with_inputs(...)`` binds each side-input parameter to a :class:`SideInput`,
classified once at bind time. They become nodes of the pipeline's graph; the
runtime resolves each once per run, before the task's first item.
"""

from __future__ import annotations

import asyncio
import enum
import inspect
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["SideInputKind", "SideInput", "OnceAwaitable"]


class SideInputKind(enum.Enum):
    VALUE = "value"  # passed as it is
    AWAITABLE = "awaitable"  # awaited once per run
    PIPELINE = "pipeline"  # a source pipeline (or task), run once per run
    STREAM = "stream"  # a Stream (a pipeline already given its data), consumed once


@dataclass(frozen=True, slots=True)
class SideInput:
    param: str
    kind: SideInputKind
    source: Any  # the value, awaitable, pipeline or stream the user passed
    all_items: bool  # pipeline/stream: the parameter takes a list of all items
    annotation: Any = Any

    @property
    def label(self) -> str:
        """A short text for graph nodes and error notes."""
        if self.kind is SideInputKind.VALUE:
            text = repr(self.source)
            return text if len(text) <= 40 else text[:37] + "..."
        if self.kind is SideInputKind.AWAITABLE:
            inner = getattr(self.source, "awaitable", self.source)
            return f"awaitable {type(inner).__name__}"
        return f"{self.kind.value} {getattr(self.source, 'name', type(self.source).__name__)}"


@dataclass(eq=False, slots=True)
class OnceAwaitable:
    """Shares one await of a coroutine among every run that needs its value.

    A coroutine can be awaited only once, but a pipeline may run many times (also
    concurrently), so the first run awaits it and later runs reuse the outcome.
    Futures and other re-awaitable objects are awaited by each run instead.
    """

    awaitable: Awaitable[Any]
    _outcome: tuple[bool, Any] | None = None
    _pending: asyncio.Future[Any] | None = field(default=None)

    async def get(self) -> Any:
        if not inspect.iscoroutine(self.awaitable):
            return await self.awaitable
        if self._outcome is not None:
            ok, value = self._outcome
            if ok:
                return value
            raise value
        if self._pending is not None and not self._pending.done():
            return await asyncio.shield(self._pending)
        loop = asyncio.get_running_loop()
        self._pending = loop.create_future()
        try:
            value = await self.awaitable
        except BaseException as exc:
            self._settle(False, exc)
            raise
        self._settle(True, value)
        return value

    def __del__(self) -> None:
        # A pipeline built but never run (or stopped before this side input was
        # resolved) never awaits the coroutine: it is ours to close, quietly.
        awaitable = self.awaitable
        if inspect.iscoroutine(awaitable) and inspect.getcoroutinestate(awaitable) == inspect.CORO_CREATED:
            awaitable.close()

    def _settle(self, ok: bool, value: Any) -> None:
        if isinstance(value, asyncio.CancelledError):
            # The coroutine is spent; later runs get a clear error instead of a reuse crash.
            self._outcome = (False, RuntimeError(
                "this side input's coroutine was cancelled during an earlier run and "
                "cannot be awaited again; pass a coroutine function's fresh result per run"))
        else:
            self._outcome = (ok, value)
        pending, self._pending = self._pending, None
        if pending is not None and not pending.done():
            ok, value = self._outcome  # other runs get what later runs will get, never a raw cancel
            if ok:
                pending.set_result(value)
            else:
                pending.set_exception(value)
                pending.exception()  # mark retrieved: the awaiting run reports it
