"""Run-wide options and their defaults, in one place."""

from dataclasses import dataclass
from typing import Final, Literal

#: How many items one stage may hold at once (running, or done and waiting for their
#: turn in input order) unless the caller chooses otherwise. Chosen with
#: ``benchmarks/`` (W2): 10k calls sleeping 1 s through 3 stages take 6.3 s with a
#: bound of 1024 and 2.0 s with 10,000 (as fast as unbounded), for about 0.5 KB per
#: held coroutine call (+16 MB peak RSS for the whole run).
DEFAULT_MAX_IN_FLIGHT: Final = 10_000


@dataclass(frozen=True, slots=True)
class RunOptions:
    """How one run behaves; chosen when a pipeline is called."""

    ordered: bool = True  # input order; False: completion order
    max_in_flight: int | None = DEFAULT_MAX_IN_FLIGHT  # per-stage bound on held items; None: unbounded
    check_items: Literal["off", "sample", "all"] = "off"  # run-time typeguard checks
    progress: bool = False  # live per-stage counts on stderr (when it is a terminal)
