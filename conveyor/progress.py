"""Live per-stage progress of a run: in a terminal, in a notebook, or quietly.

    stream = pipeline(data)
    async with conveyor.progress.show(stream):
        results = await stream.collect()

or ``pipeline(data, progress=True)``. ``show`` wraps a stream without changing it:
while the block runs, one asyncio task reads ``stream.stats`` every ``interval``
seconds and redraws one bar per stage (items in and out, skipped, failed, calls in
flight, retries, mean latency). When the input has a ``len()`` the first stage's
bar has a total, a percentage and an ETA. When the block ends the task is cancelled
and awaited and a last frame, with the final figures and how the run ended, stays
on screen.

Where it draws (``enabled=None``, the default, decides by the output):

- **a terminal**: a [rich](https://rich.readthedocs.io) ``Live`` display. While
  it runs, ``sys.stdout`` and ``sys.stderr`` are redirected through it, and so are
  the ``logging`` stream handlers writing to them, so prints, log records and
  warnings appear above the display and none is lost. It is refreshed by the run's
  own task (``auto_refresh=False``: no thread).
- **a notebook** (Jupyter, IPython kernel): an HTML display, updated in place.
- **anything else** (a pipe, a file, ``TERM=dumb``): nothing, so logs and CI output
  stay clean. ``enabled=True`` then writes the final frame once, as plain text
  (no escape codes); ``enabled=False`` turns it off everywhere.

Why rich rather than tqdm: one bar per stage plus several counters is a small table,
which rich lays out (and folds to the terminal's width) as one renderable, redirects
output around, and renders in notebooks without widgets; tqdm draws one line per bar
and leaves redirection of prints and log records to its users.
"""

from __future__ import annotations

import asyncio
import html
import importlib
import logging
import os
import sys
import time
import weakref
from collections.abc import Iterator, Sized
from dataclasses import dataclass
from types import TracebackType
from typing import IO, Any, Final, Generic, Literal, TypeVar

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.live import Live
from rich.padding import Padding
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from conveyor.runtime.stats import RunStats, StageStats, format_seconds
from conveyor.stream import Stream

__all__ = ["show", "Progress", "Frame", "frame", "format_seconds", "input_size"]

T = TypeVar("T")

Where = Literal["terminal", "notebook", "plain", "off"]
BAR_WIDTH: Final = 24


def show(
    stream: Stream[T], *, interval: float = 0.2, file: IO[str] | None = None, enabled: bool | None = None
) -> Progress[T]:
    """Show live progress of ``stream`` while an ``async with`` block runs (stderr by default).

    ``enabled``: None (default) draws on a terminal or in a notebook and stays quiet
    elsewhere; True also writes the final frame to a file or pipe; False never draws.
    ``interval``: seconds between redraws.
    """
    return Progress(stream, interval=interval, file=file, enabled=enabled)


def input_size(data: Any) -> int | None:
    """The number of items in the input when it has a ``len()`` (a list, a range ...), else None."""
    if isinstance(data, Sized):
        try:
            return len(data)
        except Exception:  # a broken __len__ only costs the total
            return None
    return None


@dataclass(frozen=True, slots=True)
class Frame:
    """One picture of a run: what every view (terminal, notebook, plain text) draws."""

    name: str
    stats: RunStats
    elapsed: float
    state: str
    total: int | None = None  # items in the input, when known

    def totals(self) -> list[int | None]:
        """Per stage, the items it can expect so far: the input's size (when known) for
        the first stage, what the stage before it on its line (main line or branch) has
        put out for the others, None for the first stage of a branch."""
        stats = self.stats
        totals: list[int | None] = []
        for index in range(len(stats.stages)):
            feeder = stats.feeder(index)
            if feeder is not None:
                totals.append(stats.stages[feeder].items_out)
            else:
                totals.append(self.total if self.fed_by_input(index) else None)
        return totals

    def fed_by_input(self, index: int) -> bool:
        """The run's first stage, on the main line, takes the input."""
        return index == 0 and not self.stats.stages[0].path

    def label(self, index: int) -> str:
        """The stage's name, indented once per branch it sits in."""
        stage = self.stats.stages[index]
        return "  " * _depth(stage) + stage.name

    def fraction(self) -> float | None:
        """How much of the input has been taken in (None without a total): by the
        first stage fed by the input."""
        if self.total is None:
            return None
        if not self.stats.stages or not self.fed_by_input(0):
            return None
        return 1.0 if self.total == 0 else min(self.stats.stages[0].items_in / self.total, 1.0)

    def eta(self) -> float | None:
        """Seconds left at the rate so far (None without a total or before the first item)."""
        fraction = self.fraction()
        if fraction is None or fraction <= 0 or self.state != "running":
            return None
        return self.elapsed * (1 - fraction) / fraction

    def heading_parts(self) -> list[str]:
        parts = [f"{self.state} {self.elapsed:.1f}s", f"{self.stats.delivered:,} delivered"]
        fraction, eta = self.fraction(), self.eta()
        if fraction is not None:
            parts.append(f"{fraction:.0%} of {self.total:,}")
        if eta is not None:
            parts.append(f"ETA {_clock(eta)}")
        return parts

    def heading(self) -> str:
        return f"conveyor: {self.name}  [{', '.join(self.heading_parts())}]"

    def count_parts(self, stage: StageStats) -> list[str]:
        latency = "-" if stage.mean_latency is None else format_seconds(stage.mean_latency)
        parts = [
            f"in {stage.items_in:,}", f"out {stage.items_out:,}", f"skipped {stage.skipped:,}",
            f"failed {stage.failed:,}", f"in flight {stage.in_flight:,}", f"retries {stage.retries:,}",
            f"mean {latency}",
            *([] if stage.rate_wait is None else [f"rate wait {format_seconds(stage.rate_wait)}"]),
        ]
        if stage.dead_lettered:  # only where a branch took some: most runs never have any
            parts.insert(4, f"dead letters {stage.dead_lettered:,}")
        return parts

    def counts(self, stage: StageStats) -> str:
        return " · ".join(self.count_parts(stage))

    def progress_text(self, stage: StageStats, total: int | None, first: bool) -> str:
        if total is None:
            return f"{stage.items_in:,}"
        shown = f"{stage.items_in:,}/{total:,}"
        if first and total:
            shown = f"{min(stage.items_in / total, 1.0):>4.0%} {shown}"
        return shown

    def renderable(self) -> RenderableType:
        """The frame for rich: a heading, then per stage a bar line and a counts line
        (which wraps on a narrow terminal rather than being cut)."""
        running = self.state == "running"
        labels = [self.label(i) for i in range(len(self.stats.stages))]
        width = max(map(len, labels), default=0)
        style = "bold" if running else "bold green" if self.state == "done" else "bold red"
        heading = [Text(f"conveyor: {self.name}", style=style)]
        heading += [Text(part, style=style) for part in self.heading_parts()]
        parts: list[RenderableType] = [_Pieces(heading, ", ", start="  [", end="]")]
        for index, (stage, total) in enumerate(zip(self.stats.stages, self.totals())):
            row = _Row(Text(labels[index], style="bold"), width, stage, total, running,
                       self.progress_text(stage, total, self.fed_by_input(index)))
            alerts = {2: "bold yellow" if stage.skipped else "dim", 3: "bold red" if stage.failed else "dim"}
            if stage.dead_lettered:  # its part comes after "failed" (count_parts)
                alerts[4] = "bold magenta"
            counts = [Text(part, style=alerts.get(i, "dim")) for i, part in enumerate(self.count_parts(stage))]
            indent = 4 + 2 * _depth(stage)
            parts += [Padding(row, (0, 0, 0, 2)), Padding(_Pieces(counts, " · "), (0, 0, 0, indent))]
        return Group(*parts)

    def lines(self) -> list[str]:
        """The frame as plain text lines, with no escape codes (for files, pipes and tests)."""
        lines = [self.heading()]
        for index, (stage, total) in enumerate(zip(self.stats.stages, self.totals())):
            lines.append(f"  {self.label(index)}  {self.progress_text(stage, total, self.fed_by_input(index))}")
            lines.append(f"    {'  ' * _depth(stage)}{self.counts(stage)}")
        return lines

    def _repr_html_(self) -> str:
        """The notebook view: the heading, then the run's table with a bar per stage."""
        bars = []
        for index, (stage, total) in enumerate(zip(self.stats.stages, self.totals())):
            text = html.escape(self.progress_text(stage, total, self.fed_by_input(index)))
            if total is None:
                bar = "<progress></progress>" if self.state == "running" else '<progress value="1" max="1"></progress>'
            else:
                done = (1 if self.state != "running" else 0) if total == 0 else min(stage.items_in, total)
                bar = f'<progress value="{done}" max="{max(total, 1)}"></progress>'
            bars.append(f'<span style="white-space:nowrap">{bar} {text}</span>')
        return f"<div><b>{html.escape(self.heading())}</b></div>{self.stats.html({'progress': bars})}"

    def __repr__(self) -> str:  # the text/plain form of the notebook view
        return "\n".join(self.lines())


class _Row:
    """A stage's name, bar and count on one line; the bar gives way on a narrow terminal."""

    def __init__(self, name: Text, name_width: int, stage: StageStats, total: int | None, running: bool, text: str) -> None:
        self.name, self.name_width, self.text = name, name_width, text
        self.stage, self.total, self.running = stage, total, running

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        room = options.max_width - self.name_width - len(self.text) - 2
        row = Table.grid(padding=(0, 1))
        row.add_column(width=self.name_width, no_wrap=True, overflow="ellipsis")
        row.add_column(no_wrap=True)
        row.add_column(no_wrap=True, overflow="fold")
        row.add_row(self.name, _bar(self.stage, self.total, self.running, max(4, min(room, BAR_WIDTH))), self.text)
        yield row


class _Pieces:
    """Pieces of text joined by ``sep``, wrapped to the width only between pieces (a
    figure never loses its label); the first piece may be followed by ``start``, and
    ``end`` closes the last."""

    def __init__(self, pieces: list[Text], sep: str, *, start: str | None = None, end: str = "") -> None:
        self.pieces, self.sep, self.start, self.end = pieces, sep, start, end

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = max(options.max_width, 1)
        line = Text()
        last = len(self.pieces) - 1
        for index, piece in enumerate(self.pieces):
            opening = index == 1 and self.start is not None
            joint = "" if index == 0 else ((self.start or "") if opening else self.sep)
            tail = self.end if index == last else self.sep.rstrip()
            if index and line.cell_len + len(joint) + piece.cell_len + len(tail) > width:
                yield line.append("" if opening else self.sep.rstrip())
                line = Text("  " + (joint.strip() if opening else ""))
            else:
                line.append(joint)
            line.append_text(piece)
        yield line.append(self.end)


def frame(name: str, stats: RunStats, elapsed: float, state: str, total: int | None = None) -> list[str]:
    """The plain-text lines of one frame: the heading, then two lines per stage."""
    return Frame(name, stats, elapsed, state, total).lines()


def _depth(stage: StageStats) -> int:
    """How many branches deep a stage sits (0 on the main line)."""
    return len(stage.path.split(" > ")) if stage.path else 0


def _bar(stage: StageStats, total: int | None, running: bool, width: int) -> ProgressBar:
    """Items taken in against the items there are; a pulse while the total is unknown."""
    if total is None:
        return ProgressBar(total=None, pulse=True, width=width) if running else ProgressBar(1, 1, width=width)
    if total == 0:
        return ProgressBar(1, 0 if running else 1, width=width)
    return ProgressBar(total, min(stage.items_in, total), width=width)


def _clock(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02}:{seconds:02}" if hours else f"{minutes}:{seconds:02}"


class Progress(Generic[T]):
    """The async context manager returned by ``show``; entering it gives the stream back."""

    def __init__(
        self, stream: Stream[T], *, interval: float = 0.2, file: IO[str] | None = None, enabled: bool | None = None
    ) -> None:
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or interval <= 0:
            raise ValueError(f"interval must be a positive number of seconds, got {interval!r}")
        # Weakly: a stream dropped by its consumer (a loop left early) must still be
        # collected, which cancels its run; the display then ends too.
        self._stream = weakref.ref(stream)
        self._name = stream.pipeline.name
        self._stats = stream.stats
        self.interval = float(interval)
        self.file: IO[str] = file if file is not None else sys.stderr
        self.where: Where = _where(self.file, enabled)
        self.total = input_size(stream.data)
        self._task: asyncio.Task[None] | None = None
        self._running = False
        self._started = 0.0
        self._live: Live | None = None
        self._handle: Any = None  # the notebook's display handle
        self._restore: list[tuple[logging.StreamHandler[Any], Any]] = []

    @property
    def enabled(self) -> bool:
        return self.where != "off"

    @property
    def stream(self) -> Stream[T]:
        """The stream shown (held weakly: RuntimeError once its consumer dropped it)."""
        stream = self._stream()
        if stream is None:
            raise RuntimeError("the stream of this progress display is gone")
        return stream

    async def __aenter__(self) -> Stream[T]:
        self.start()
        return self.stream

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop(_outcome(exc_type))

    def frame(self, state: str = "running") -> Frame:
        """The current picture (the last figures seen once the stream is gone)."""
        stream = self._stream()
        if stream is not None:
            self._stats = stream.stats
        elapsed = time.monotonic() - self._started if self._started else 0.0
        return Frame(self._name, self._stats, elapsed, state, self.total)

    def start(self) -> None:
        """Start showing progress (inside the running event loop)."""
        if self._running or not self.enabled:
            return
        self._running = True
        self._started = time.monotonic()
        if self.where == "terminal" and _live_displays:
            self.where = "plain"  # one live display at a time: this run's last frame goes above it
        if self.where == "plain":
            return  # nothing is drawn until the last frame
        try:
            if self.where == "terminal":
                self._start_live()
            else:
                self._start_notebook()
        except Exception:  # a display that cannot start never fails the run
            self._off()
            return
        self._task = asyncio.get_running_loop().create_task(self._redraw_forever(), name="conveyor progress")

    async def stop(self, state: str = "done") -> None:
        """Stop redrawing and draw the last frame, saying how the run ended."""
        if not self._running:
            return
        self._running = False
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait([task])  # never raises the task's CancelledError into the caller
        self._finish(state)

    def _finish(self, state: str) -> None:
        """Draw the last frame and end the display."""
        if not self.enabled:
            return
        last = self.frame(state)
        try:
            if self.where == "terminal" and self._live is not None:
                self._live.update(last.renderable(), refresh=True)
            elif self.where == "notebook":
                self._handle.update(last)
            else:
                out = _through_display(self.file)
                out.write("\n".join(last.lines()) + "\n")
                out.flush()
        except Exception:  # closed or broken output: the run goes on
            pass
        finally:
            self._off()

    def draw(self, state: str = "running") -> None:
        """Redraw with the current figures (a broken output turns the display off)."""
        try:
            if self.where == "terminal" and self._live is not None:
                self._live.update(self.frame(state).renderable(), refresh=True)
            elif self.where == "notebook":
                self._handle.update(self.frame(state))
        except Exception:
            self._off()

    async def _redraw_forever(self) -> None:
        try:
            while self.enabled:
                if self._stream() is None:  # dropped by its consumer: its run was cancelled
                    self._running = False
                    self._finish("closed")
                    return
                self.draw("running")
                await asyncio.sleep(self.interval)
        except asyncio.CancelledError:
            if self._running:  # cancelled from outside (the event loop closing), not by stop()
                self._running = False
                self._finish("cancelled")
            raise

    def _start_live(self) -> None:
        console = Console(file=self.file)
        self._live = Live(
            self.frame().renderable(), console=console, auto_refresh=False,
            redirect_stdout=True, redirect_stderr=True, transient=False,
        )
        before = (sys.stdout, sys.stderr)
        _live_displays.add(self)
        self._live.start(refresh=True)
        # Log handlers keep the stream they were given: point those writing to the
        # terminal's stdout / stderr through the redirection too, so no record is lost.
        proxies = {id(old): new for old, new in zip(before, (sys.stdout, sys.stderr)) if new is not old}
        for handler in _stream_handlers():
            proxy = proxies.get(id(handler.stream))
            if proxy is not None:
                self._restore.append((handler, handler.setStream(proxy)))

    def _start_notebook(self) -> None:
        ipython: Any = importlib.import_module("IPython.display")  # there: a kernel is running
        self._handle = ipython.display(self.frame(), display_id=True)

    def _off(self) -> None:
        """Stop drawing for good: end the Live display, give log handlers their streams back."""
        self.where = "off"
        _live_displays.discard(self)
        live, self._live = self._live, None
        try:
            if live is not None:
                live.stop()
        except Exception:
            pass
        finally:
            for handler, stream in reversed(self._restore):
                handler.setStream(stream)
            self._restore.clear()


#: The terminal displays running now (at most one: a second one is shown as plain text).
_live_displays: weakref.WeakSet[Progress[Any]] = weakref.WeakSet()


def _through_display(file: IO[str]) -> IO[str]:
    """Where to write to ``file`` so that a live display keeps it: its redirection, if any."""
    for stream in (sys.stderr, sys.stdout):
        if getattr(stream, "rich_proxied_file", None) is file:
            return stream
    return file


def _stream_handlers() -> Iterator[logging.StreamHandler[Any]]:
    """Every stream handler (not a file handler) of every logger, the root's included."""
    loggers: list[Any] = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    seen: set[int] = set()
    for logger in loggers:
        for handler in getattr(logger, "handlers", ()):
            if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
                if id(handler) not in seen:
                    seen.add(id(handler))
                    yield handler


def _where(file: IO[str], enabled: bool | None) -> Where:
    if enabled is False:
        return "off"
    if _is_terminal(file):
        return "terminal"
    if _in_notebook() and file in (sys.stderr, sys.stdout, sys.__stderr__, sys.__stdout__):
        return "notebook"
    return "plain" if enabled else "off"


def _in_notebook() -> bool:
    """Running in a Jupyter kernel (a notebook, JupyterLab, VS Code, qtconsole)."""
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    try:
        ipython = shell.get_ipython()
    except Exception:
        return False
    return ipython is not None and type(ipython).__name__ == "ZMQInteractiveShell"


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

