"""Per-stage figures of one run, counted by the scheduler as it goes.

Cheap by design: a few integer increments per call and two clock reads, so they are
always on. ``stream.stats`` gives them during and after a run; diagrams and the
progress display read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["StageStats", "RunStats"]


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
    busy_seconds: float = 0.0  # summed wall time of finished calls, retries included
    finished_calls: int = 0
    path: str = ""  # the branches this stage sits in ("" on the main line)

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

    def __getitem__(self, name: str) -> StageStats:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(f"no stage named {name!r}; stages: {', '.join(s.name for s in self.stages)}")

    def table(self) -> str:
        """A plain-text table, one row per stage."""
        rows = [("stage", "in", "out", "skipped", "failed", "retries", "mean latency")]
        for s in self.stages:
            latency = "-" if s.mean_latency is None else f"{s.mean_latency * 1000:.2f} ms"
            rows.append((s.name, str(s.items_in), str(s.items_out), str(s.skipped), str(s.failed), str(s.retries), latency))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths))) for row in rows]
        return "\n".join(lines)
