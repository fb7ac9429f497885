"""The result stream of one pipeline run: an async iterator with ``collect()``.

A Stream is lazy: the run starts on the first ``__anext__`` (or ``collect()``), so
calling a pipeline outside an event loop is fine. Closing the stream (``aclose()``,
``async with``, or dropping the last reference) cancels all of the run's work.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Generator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, NoReturn, TypeVar

from conveyor.runtime.dead_letters import Failures
from conveyor.runtime.limits import RunOptions
from conveyor.runtime.scheduler import Run, blank_stats
from conveyor.runtime.stats import RunStats

if TYPE_CHECKING:
    from conveyor.pipeline import Pipeline
    from conveyor.progress import Progress

__all__ = ["Stream"]

T = TypeVar("T", covariant=True)


class Stream(AsyncIterator[T], Generic[T]):
    """Results of running a pipeline on some data, in input order or as completed."""

    __slots__ = ("pipeline", "data", "options", "_run", "_progress", "_closed_unstarted", "__weakref__")

    def __init__(self, pipeline: Pipeline[Any, T], data: Any, options: RunOptions) -> None:
        self.pipeline = pipeline
        self.data = data
        self.options = options
        self._run: Run | None = None
        self._progress: Progress[T] | None = None
        self._closed_unstarted = False  # closed before it ever ran: reading it is an error

    @property
    def started(self) -> bool:
        return self._run is not None

    @property
    def stats(self) -> RunStats:
        """Per-stage figures of this run so far (all zero before it starts)."""
        if self._run is None:
            return blank_stats(self.pipeline)
        return self._run.stats

    @property
    def failures(self) -> Failures:
        """The ``Failed`` records of this run's final failures that no dead-letter branch
        took (skipped items, items an error handler dropped, the failure that stopped the
        run), in the order they happened; the first 10,000 in full, then only counted
        (``failures.total``). Empty before the run starts."""
        if self._run is None:
            return Failures()
        return self._run.failures

    def _ensure_run(self) -> Run:
        if self._run is None:
            if self._closed_unstarted:
                raise RuntimeError(
                    f"this stream of pipeline {self.pipeline.name!r} was closed before it started: it ran "
                    f"nothing and yields nothing; call the pipeline again for a new run"
                )
            self._run = Run(self.pipeline, self.data, self.options)
            self._run.start()
            if self.options.progress:
                from conveyor.progress import Progress  # a view: loaded only when asked for

                self._progress = Progress(self)
                self._progress.start()
        return self._run

    def __aiter__(self) -> Stream[T]:
        return self

    async def __anext__(self) -> T:
        run = self._ensure_run()
        try:
            item: T = await run.next()
        except asyncio.CancelledError:
            run.cancel()  # the consumer was cancelled: so is all of the run's work
            raise
        except StopAsyncIteration:
            await self._stop_progress("done")
            raise
        except Exception as exc:
            await self._stop_progress(f"stopped by {type(exc).__name__}")
            raise
        return item

    async def _stop_progress(self, state: str) -> None:
        progress, self._progress = self._progress, None
        if progress is not None:
            await progress.stop(state)

    async def collect(self) -> list[T]:
        """All remaining results as a list (the run's order: input order or completion)."""
        results: list[T] = []
        append = results.append
        try:
            run = self._ensure_run()
            while True:
                run.take_ready(append)  # the hot path: what is ready, without a coroutine
                try:
                    append(await self.__anext__())
                except StopAsyncIteration:
                    break
        finally:
            await self.aclose()
        return results

    async def aclose(self) -> None:
        """Stop the run: cancel in-flight work and wait until all of it has ended.

        A stream closed before it started never runs: reading it raises RuntimeError.
        """
        if self._run is None:
            self._closed_unstarted = True
        else:
            await self._run.aclose()
        await self._stop_progress("closed")

    async def __aenter__(self) -> Stream[T]:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def __del__(self) -> None:
        # Breaking out of ``async for`` drops the stream: stop its work then, too.
        run = getattr(self, "_run", None)
        if run is not None:
            run.cancel()

    def as_list(self) -> list[T]:
        """This stream as a side input that receives all of its items (consumed once):
        ``task.with_inputs(names=pipeline(data).as_list())``. Typed ``list[T]`` so that
        every type checker compares it with the parameter (see ``conveyor.side``)."""
        from conveyor.side_inputs import ItemsSideInput

        return ItemsSideInput(self, f"stream of {self.pipeline.name}.as_list()", all_items=True)  # type: ignore[return-value]

    def as_single(self) -> T:
        """This stream as a side input that receives its one item; typed as the item."""
        from conveyor.side_inputs import ItemsSideInput

        return ItemsSideInput(self, f"stream of {self.pipeline.name}.as_single()", all_items=False)  # type: ignore[return-value]

    # -- friendlier mistakes (no lifecycle here) -----------------------------------------

    def __await__(self) -> Generator[Any, None, list[T]]:
        """``await stream`` is ``await stream.collect()``: all results as a list."""
        return self.collect().__await__()

    if not TYPE_CHECKING:  # to type checkers a Stream stays not iterable: they flag ``for``

        def __iter__(self) -> NoReturn:
            raise TypeError(
                f"{self!r} is asynchronous: iterate it with 'async for item in stream', or get "
                f"all results with 'await stream' (or 'await stream.collect()'); outside a "
                f"coroutine, use asyncio.run(stream.collect())"
            )

    def __repr__(self) -> str:
        mode = "ordered" if self.options.ordered else "as completed"
        state = "not started" if self._run is None else self._run.state
        return f"<Stream of {self.pipeline.name} ({mode}, {state})>"
