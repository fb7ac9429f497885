"""Live per-stage progress of a run, redrawn in place on stderr.

    stream = pipeline(data)
    async with conveyor.progress.show(stream):
        results = await stream.collect()

``show`` wraps a stream without changing it: while the block runs, an asyncio task
reads ``stream.stats`` every ``interval`` seconds and redraws a few lines (one per
stage: items in and out, skipped, failed, retries, calls in flight, mean latency).
When the block ends the task is cancelled and awaited, and a last frame is drawn
with the final figures, so nothing is left pending.

It is quiet unless the output is a terminal (``enabled=None``, the default):
logs and CI output stay clean. ``enabled=True`` forces it on (any file), ``False``
off. The display is plain text with two ANSI control sequences (cursor up, clear
line), written by this module: no dependency.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import time
from types import TracebackType
from typing import IO, Any, Final, Generic, TypeVar

from conveyor.runtime.stats import RunStats, StageStats
from conveyor.stream import Stream

__all__ = ["show", "Progress", "frame", "format_seconds"]

T = TypeVar("T")

_UP: Final = "\x1b[{}F"  # cursor to the start of the line n lines up
_CLEAR: Final = "\x1b[2K"  # clear the whole line
_COLUMNS: Final = ("in", "out", "skipped", "failed", "retries", "in flight", "mean")


def show(
    stream: Stream[T], *, interval: float = 0.2, file: IO[str] | None = None, enabled: bool | None = None
) -> Progress[T]:
    """Show live progress of ``stream`` while an ``async with`` block runs (stderr by default)."""
    return Progress(stream, interval=interval, file=file, enabled=enabled)


class Progress(Generic[T]):
    """The async context manager returned by :func:`show`; entering it gives the stream back."""

    def __init__(
        self, stream: Stream[T], *, interval: float = 0.2, file: IO[str] | None = None, enabled: bool | None = None
    ) -> None:
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or interval <= 0:
            raise ValueError(f"interval must be a positive number of seconds, got {interval!r}")
        self.stream = stream
        self.interval = float(interval)
        self.file: IO[str] = file if file is not None else sys.stderr
        self.enabled = _is_terminal(self.file) if enabled is None else enabled
        self._task: asyncio.Task[None] | None = None
        self._started = 0.0
        self._drawn = 0  # lines of the previous frame, to move back over

    async def __aenter__(self) -> Stream[T]:
        self.start()
        return self.stream

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop(_outcome(exc_type))

    def start(self) -> None:
        """Start redrawing (inside the running event loop)."""
        if self.enabled and self._task is None:
            self._started = time.monotonic()
            self._task = asyncio.get_running_loop().create_task(self._redraw_forever(), name="conveyor progress")

    async def stop(self, state: str = "done") -> None:
        """Stop redrawing and draw the last frame, saying how the run ended."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        await asyncio.wait([task])  # never raises the task's CancelledError into the caller
        if self.enabled:
            self.draw(state)

    async def _redraw_forever(self) -> None:
        while self.enabled:
            self.draw("running")
            await asyncio.sleep(self.interval)

    def draw(self, state: str) -> None:
        """Write one frame over the previous one (a broken output turns the display off)."""
        width = shutil.get_terminal_size((100, 24)).columns - 1
        lines = [line[:width] for line in frame(self.stream.pipeline.name, self.stream.stats, time.monotonic() - self._started, state)]
        text = (_UP.format(self._drawn) if self._drawn else "") + "".join(f"{_CLEAR}{line}\n" for line in lines)
        try:
            self.file.write(text)
            self.file.flush()
        except (OSError, ValueError):  # closed or broken stream: stop drawing, never fail the run
            self.enabled = False  # the redraw loop ends, and __aexit__ draws no last frame
            return
        self._drawn = len(lines)


def frame(name: str, stats: RunStats, elapsed: float, state: str) -> list[str]:
    """The lines of one frame: a heading, a column header, one aligned row per stage."""
    rows = [["stage", *_COLUMNS]] + [_row(stage) for stage in stats.stages]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    table = ["  " + "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths))) for row in rows]
    heading = f"conveyor: {name}  [{state}, {elapsed:.1f}s, {stats.delivered:,} delivered]"
    return [heading, *table]


def _row(stage: StageStats) -> list[str]:
    latency = "-" if stage.mean_latency is None else format_seconds(stage.mean_latency)
    figures = (stage.items_in, stage.items_out, stage.skipped, stage.failed, stage.retries, stage.in_flight)
    return [stage.name, *(f"{value:,}" for value in figures), latency]


def format_seconds(seconds: float) -> str:
    """A short duration: ``2.31 s``, ``12.5 ms``, ``40 µs``."""
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 0.001:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds * 1_000_000:.0f} µs"


def _outcome(exc_type: type[BaseException] | None) -> str:
    if exc_type is None:
        return "done"
    if issubclass(exc_type, asyncio.CancelledError):
        return "cancelled"
    return f"stopped by {exc_type.__name__}"


def _is_terminal(file: Any) -> bool:
    """A real terminal that understands cursor movement (not a pipe, a file or TERM=dumb)."""
    try:
        tty = bool(file.isatty())
    except (AttributeError, ValueError):
        return False
    return tty and os.environ.get("TERM", "") != "dumb"
