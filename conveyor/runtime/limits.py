"""Run-wide bounds, in one place so the model can name them without importing the runtime."""

from typing import Final

#: How many items one stage may hold at once (running, or done and waiting for their
#: turn in input order) unless the caller chooses otherwise. Chosen with
#: ``benchmarks/``: large enough that latency-bound stages overlap thousands of
#: calls, small enough that memory stays a few MB per stage.
DEFAULT_MAX_IN_FLIGHT: Final = 1024
