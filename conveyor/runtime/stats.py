"""Per-stage figures of one run, counted by the scheduler as it goes.

Cheap by design: a few integer increments per call and two clock reads, so they are
always on. ``stream.stats`` gives them during and after a run; diagrams and the
progress display read them, and a notebook shows them as an HTML table.

Every view goes through ``RunStats.stages`` and nothing else, so a stage of any
shape (a branch, later) is just one more row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

__all__ = ["StageStats", "RunStats", "format_seconds"]

_HEADER = ("stage", "in", "out", "skipped", "failed", "dead letters", "retries", "in flight", "mean latency")
_RATE_HEADER = ("rate wait",)  # shown only when some stage has a rate limit


@dataclass(slots=True)
class StageStats:
    """What one stage has done so far in a run."""

    name: str
    items_in: int = 0  # items taken in (a batch counts its items)
    items_out: int = 0  # items emitted downstream
    calls: int = 0  # calls started (a batch is one call; retries not included)
    retries: int = 0  # extra attempts after failures
    skipped: int = 0  # items dropped by on_error="skip_*" or by an error handler (a batch counts its items)
    failed: int = 0  # calls whose failure stopped the run
    dead_lettered: int = 0  # items sent to the task's dead-letter branch (a batch counts its items)
    busy_seconds: float = 0.0  # summed wall time of finished calls, retries included
    finished_calls: int = 0
    path: str = ""  # the branches this stage sits in ("" on the main line)
    rate_wait: float | None = None  # seconds spent waiting for a rate limiter (None: not limited)

    @property
    def mean_latency(self) -> float | None:
        """Mean seconds per finished call, or None before the first one finishes."""
        return self.busy_seconds / self.finished_calls if self.finished_calls else None

    @property
    def in_flight(self) -> int:
        return self.calls - self.finished_calls


@dataclass(slots=True)
class RunStats:
    """Figures for every stage of one run, in pipeline order."""

    stages: list[StageStats] = field(default_factory=list)
    delivered: int = 0  # items handed to the consumer

    def feeder(self, index: int) -> int | None:
        """The stage whose outputs stage ``index`` takes in: the one before it on the
        same line (main line or branch); None for the first stage of the run (the
        input feeds it) and for the first stage of a branch (what its branching step
        hands each branch depends on the step)."""
        path = self.stages[index].path
        return next((i for i in range(index - 1, -1, -1) if self.stages[i].path == path), None)

    def __getitem__(self, name: str) -> StageStats:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(f"no stage named {name!r}; stages: {', '.join(s.name for s in self.stages)}")

    @property
    def rate_limited(self) -> bool:
        """Does any stage wait for a rate limiter? (Its views then add a "rate wait" column.)"""
        return any(stage.rate_wait is not None for stage in self.stages)

    def table(self) -> str:
        """A plain-text table, one row per stage."""
        limited = self.rate_limited
        rows = [("stage", "in", "out", "skipped", "failed", "dead letters", "retries", "mean latency", *_RATE_HEADER[:limited])]
        for s in self.stages:
            latency = "-" if s.mean_latency is None else f"{s.mean_latency * 1000:.2f} ms"
            rows.append((
                s.name, str(s.items_in), str(s.items_out), str(s.skipped), str(s.failed), str(s.dead_lettered),
                str(s.retries), latency, *_rate_cell(s)[:limited],
            ))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths))) for row in rows]
        return "\n".join(lines)

    def rows(self) -> list[tuple[str, ...]]:
        """The header and one row of formatted figures per stage (for tables in any medium)."""
        limited = self.rate_limited
        return [(*_HEADER, *_RATE_HEADER[:limited]), *((*_cells(stage), *_rate_cell(stage)[:limited]) for stage in self.stages)]

    def _repr_html_(self) -> str:
        """A notebook shows the figures as a table (non-zero skips and failures stand out)."""
        return self.html()

    def html(self, extra: Mapping[str, Sequence[str]] | None = None) -> str:
        """The figures as an HTML table; ``extra`` adds columns (title: one ready-made
        HTML cell per stage) after the stage's name, as the progress display does."""
        import html  # only in a notebook: not with conveyor

        extra = dict(extra or {})
        header, *body = self.rows()
        titles = [header[0], *extra, *header[1:]]
        left = 1 + len(extra)  # the name and the extra columns are read left to right
        head = "".join(f'<th style="{_align(i < left)}">{html.escape(h)}</th>' for i, h in enumerate(titles))
        lines = []
        for index, (stage, row) in enumerate(zip(self.stages, body)):
            alert = {3: stage.skipped, 4: stage.failed, 5: stage.dead_lettered}
            figures = [f"<b>{html.escape(cell)}</b>" if alert.get(i) else html.escape(cell) for i, cell in enumerate(row)]
            cells = [figures[0], *(column[index] for column in extra.values()), *figures[1:]]
            lines.append("<tr>" + "".join(f'<td style="{_align(i < left)}">{cell}</td>' for i, cell in enumerate(cells)) + "</tr>")
        return (
            f'<table class="conveyor-stats"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(lines)}</tbody>'
            f'<caption style="caption-side:bottom;text-align:left">{self.delivered:,} delivered</caption></table>'
        )


def _align(left: bool) -> str:
    return f"text-align:{'left' if left else 'right'};padding:0.15em 0.6em"


def _cells(stage: StageStats) -> tuple[str, ...]:
    latency = "-" if stage.mean_latency is None else format_seconds(stage.mean_latency)
    figures = (
        stage.items_in, stage.items_out, stage.skipped, stage.failed, stage.dead_lettered, stage.retries, stage.in_flight,
    )
    depth = len(stage.path.split(" > ")) if stage.path else 0  # a branch's stages indented under their step
    return ("\u00a0\u00a0" * depth + stage.name, *(f"{value:,}" for value in figures), latency)


def _rate_cell(stage: StageStats) -> tuple[str]:
    return ("-" if stage.rate_wait is None else format_seconds(stage.rate_wait),)


def format_seconds(seconds: float) -> str:
    """A short duration: ``2.31 s``, ``12.5 ms``, ``40 µs``."""
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 0.001:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds * 1_000_000:.0f} µs"
