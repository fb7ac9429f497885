"""What a task does when its function raises: retries, backoff, handlers, skip or fail.

This module is pure configuration plus the small pieces of behaviour that belong to
it (the delay schedule, the shipped handlers). The scheduler applies it per item.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Final, Literal, get_args

__all__ = [
    "OnError",
    "RetryPolicy",
    "ErrorHandler",
    "LoggingErrorHandler",
    "ErrorPolicy",
    "validate_on_error",
]

#: The failure strategies a task may choose. ``skip_item`` belongs to single tasks,
#: ``skip_batch`` to batch tasks; ``fail`` (the default) stops the whole run.
OnError = Literal["fail", "skip_item", "skip_batch"]

_ON_ERROR_VALUES: Final = get_args(OnError)
_SKIP_FOR_KIND: Final = {"single": "skip_item", "batch": "skip_batch"}


def validate_on_error(value: object, *, task_kind: str, task_name: str) -> OnError:
    """Return ``value`` as an :data:`OnError`, or raise a ValueError naming the task."""
    allowed = ("fail", _SKIP_FOR_KIND[task_kind])
    if value not in _ON_ERROR_VALUES:
        raise ValueError(
            f"task {task_name!r}: on_error={value!r} is not a known error policy; "
            f"a {task_kind} task accepts one of {', '.join(map(repr, allowed))}"
        )
    if value not in allowed:
        raise ValueError(
            f"task {task_name!r}: on_error={value!r} does not apply to a {task_kind} task; "
            f"use {allowed[1]!r} to skip failures, or 'fail'"
        )
    return value  # type: ignore[return-value]  # membership was checked above


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often to call a failing function and how long to wait between calls.

    ``attempts`` is the total number of calls (3 means up to 3 calls). The wait
    before attempt ``n + 1`` is ``delay * 2 ** (n - 1)`` capped at ``max_delay`` when
    ``exponential_backoff`` is on, otherwise ``delay`` every time.
    """

    attempts: int = 1
    delay: float = 1.0
    exponential_backoff: bool = True
    max_delay: float = 60.0

    def __post_init__(self) -> None:
        if isinstance(self.attempts, bool) or not isinstance(self.attempts, int):
            raise TypeError(f"retry_attempts must be an int, got {self.attempts!r}")
        if self.attempts < 1:
            raise ValueError(f"retry_attempts must be at least 1 (the first call), got {self.attempts}")
        for name in ("delay", "max_delay"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"retry_{name} must be a number >= 0, got {value!r}")

    def delay_after(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        if not self.exponential_backoff:
            return float(self.delay)
        # Cap the exponent too: 2 ** 10_000 is a slow bignum and an OverflowError as a float.
        growth = 2.0 ** min(attempt - 1, 1023)
        return float(min(self.delay * growth, self.max_delay))


class ErrorHandler:
    """Decides what happens to an item whose last attempt failed.

    Subclass it and override :meth:`handle_error`. Return ``(True, value)`` to go on
    with ``value`` as the task's result for that item (``None`` drops the item), or
    ``(False, anything)`` to let the task's ``on_error`` policy run.
    For a batch task, ``item`` is the whole batch (a list).
    """

    async def handle_error(
        self, error: Exception, item: Any, task_name: str, attempt: int
    ) -> tuple[bool, Any]:
        return False, None


class LoggingErrorHandler(ErrorHandler):
    """Logs every final failure on the ``conveyor`` logger and drops the item.

    Pass ``reraise=True`` to log and then let the task's ``on_error`` policy run.
    """

    def __init__(
        self,
        logger: logging.Logger | None = None,
        *,
        level: int = logging.ERROR,
        reraise: bool = False,
    ) -> None:
        self.logger = logger if logger is not None else logging.getLogger("conveyor")
        self.level = level
        self.reraise = reraise

    async def handle_error(
        self, error: Exception, item: Any, task_name: str, attempt: int
    ) -> tuple[bool, Any]:
        self.logger.log(
            self.level,
            "task %r failed on %s after %d attempt(s): %r",
            task_name,
            short_repr(item),
            attempt,
            error,
            extra={"task_name": task_name},
        )
        return (not self.reraise), None


@dataclass(frozen=True, slots=True)
class ErrorPolicy:
    """Everything a task decided about failures, bundled so stages read one object."""

    on_error: OnError = "fail"
    retry: RetryPolicy = RetryPolicy()
    handler: ErrorHandler | None = None

    @property
    def skips(self) -> bool:
        return self.on_error != "fail"


def short_repr(value: object, limit: int = 80) -> str:
    """A repr short enough for a log line or an exception note."""
    try:
        text = repr(value)
    except Exception as exc:  # a broken __repr__ must not hide the real error
        text = f"<{type(value).__name__} (repr failed: {exc!r})>"
    return text if len(text) <= limit else text[: limit - 3] + "..."
