"""Run-wide options and their defaults, in one place."""

from dataclasses import dataclass
from typing import Final, Literal

#: How many items one stage may hold at once (running, or done and waiting for their
#: turn in input order) unless the caller chooses otherwise. Chosen with
#: ``benchmarks/``: large enough that latency-bound stages overlap thousands of
#: calls, small enough that memory stays a few MB per stage.
DEFAULT_MAX_IN_FLIGHT: Final = 1024


@dataclass(frozen=True, slots=True)
class RunOptions:
    """How one run behaves; chosen when a pipeline is called."""

    ordered: bool = True  # input order; False: completion order
    max_in_flight: int | None = DEFAULT_MAX_IN_FLIGHT  # per-stage bound on held items; None: unbounded
    check_items: Literal["off", "sample", "all"] = "off"  # run-time typeguard checks
