"""The warning for an inline call that blocks the event loop for too long.

A sync task runs on the event-loop thread by default (the fastest choice for quick
functions). One call that takes longer than the threshold (100 ms by default, the
``slow_callback_duration`` asyncio's debug mode uses) freezes every other stage
meanwhile, so conveyor logs one warning per task, on the ``conveyor`` logger, naming
the task and suggesting ``executor="thread"`` or ``"process"``.

Configure it with ``conveyor.warn_blocking_calls(seconds)`` (``None`` turns it off)
or the environment variable ``CONVEYOR_WARN_BLOCKING`` (seconds, or ``off``). The
stage reads the threshold when a run starts; the check is one comparison per inline
call, with a time the stage measures anyway.
"""

from __future__ import annotations

import logging
import math
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conveyor.task import Task

__all__ = ["warn_blocking_calls", "blocking_threshold", "report_blocking", "DEFAULT_BLOCKING_SECONDS"]

DEFAULT_BLOCKING_SECONDS = 0.1
_log = logging.getLogger("conveyor")
_warned: set[tuple[str, str]] = set()  # (task name, where defined): once per task per process


def _from_environment() -> float:
    raw = os.environ.get("CONVEYOR_WARN_BLOCKING", "").strip().lower()
    if not raw:
        return DEFAULT_BLOCKING_SECONDS
    if raw in ("off", "none", "0", "no", "false"):
        return math.inf
    try:
        seconds = float(raw)
    except ValueError:
        _log.warning("CONVEYOR_WARN_BLOCKING=%r is not a number of seconds or 'off'; using %gs", raw,
                     DEFAULT_BLOCKING_SECONDS)
        return DEFAULT_BLOCKING_SECONDS
    return seconds if seconds > 0 and math.isfinite(seconds) else math.inf


_threshold = _from_environment()


def warn_blocking_calls(after: float | None = DEFAULT_BLOCKING_SECONDS) -> None:
    """Warn when one inline call blocks the event loop for more than ``after`` seconds
    (``None``: never). Applies to runs started afterwards."""
    from conveyor.options import check_seconds

    global _threshold
    seconds = check_seconds("warn_blocking_calls", "after", after, positive=True, optional=True)
    _threshold = math.inf if seconds is None else seconds


def blocking_threshold() -> float:
    return _threshold


def report_blocking(task: Task[Any, Any], seconds: float, *, is_async: bool) -> None:
    """Log the warning for ``task`` (only the first time for each task)."""
    key = (task.name, task.defined_at)
    if key in _warned:
        return
    _warned.add(key)
    if is_async:
        advice = ("it is async, so something in it blocks without awaiting (time.sleep, blocking I/O, "
                  "heavy CPU work): await non-blocking calls, or move the blocking part into a sync "
                  "task with executor=\"thread\"")
    else:
        advice = ("run it off the loop: executor=\"thread\" for blocking I/O, executor=\"process\" for "
                  "CPU-bound work")
    _log.warning(
        "task %r: one call blocked the event loop for %.3gs (more than %.3gs), stalling every other stage; "
        "%s (see docs/scaling.md; conveyor.warn_blocking_calls() sets the threshold)",
        task.name, seconds, _threshold, advice, extra={"task_name": task.name},
    )
