"""Hypothesis profiles.

``ci`` (the default) keeps the chaos suite (tests/test_chaos.py) short; ``nightly`` runs
many more examples. Choose with ``HYPOTHESIS_PROFILE=nightly``; ``CONVEYOR_CHAOS_EXAMPLES=N``
sets the chaos suite's example count directly. Tests that pass their own
``max_examples`` (tests/test_properties.py) keep it under either profile.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]

# No example database: nothing is written into the repository; print_blob replays a failure.
settings.register_profile("ci", max_examples=100, deadline=None, database=None, print_blob=True, suppress_health_check=_QUIET)
settings.register_profile("nightly", max_examples=2000, deadline=None, database=None, print_blob=True, suppress_health_check=_QUIET)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
