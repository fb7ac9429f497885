"""What a task does when its function raises: retries, backoff, handlers, skip or fail.

This module is pure configuration plus the small pieces of behaviour that belong to
it (the delay schedule, the shipped handlers). The scheduler applies it per item.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Final, Literal, get_args

from conveyor.options import check_choice, check_count, check_flag, check_seconds

__all__ = [
    "OnError",
    "RetryPolicy",
    "ErrorHandler",
    "LoggingErrorHandler",
    "ErrorPolicy",
    "validate_on_error",
]

OnError = Literal["fail", "skip_item", "skip_batch"]
"""The failure strategies a task may choose (its ``on_error`` option): ``"fail"`` (the
default) stops the whole run; ``"skip_item"`` (single tasks) and ``"skip_batch"``
(batch tasks) drop what the failing call was given, log it and go on."""

_ON_ERROR_VALUES: Final = get_args(OnError)
_SKIP_FOR_KIND: Final = {"single": "skip_item", "batch": "skip_batch"}


def validate_on_error(value: object, *, task_kind: str, task_name: str) -> OnError:
    """Return ``value`` as an ``OnError``: a TypeError for a non-str, a ValueError
    naming the task for an unknown or misplaced value."""
    allowed = ("fail", _SKIP_FOR_KIND[task_kind])
    owner = f"task {task_name!r}"
    if isinstance(value, str) and value not in allowed:
        if value in _ON_ERROR_VALUES:
            raise ValueError(
                f"{owner}: on_error={value!r} does not apply to a {task_kind} task; "
                f"use {allowed[1]!r} to skip failures, or 'fail'"
            )
        raise ValueError(
            f"{owner}: on_error={value!r} is not a known error policy; "
            f"a {task_kind} task accepts one of {', '.join(map(repr, allowed))}"
        )
    return check_choice(owner, "on_error", value, allowed)  # type: ignore[return-value]  # one of allowed


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often to call a failing function and how long to wait between calls.

    ``attempts`` is the total number of calls (3 means up to 3 calls). The wait
    before attempt ``n + 1`` is ``delay * 2 ** (n - 1)`` when ``exponential_backoff``
    is on, otherwise ``delay`` every time; either way it is capped at ``max_delay``.
    Both delays are finite numbers of seconds >= 0 (NaN and infinity are refused).
    """

    attempts: int = 1
    delay: float = 1.0
    exponential_backoff: bool = True
    max_delay: float = 60.0

    def __post_init__(self) -> None:
        _check_retry("RetryPolicy", "", self.attempts, self.delay, self.exponential_backoff, self.max_delay)

    @classmethod
    def for_task(cls, owner: str, attempts: object, delay: object, backoff: object, max_delay: object) -> RetryPolicy:
        """The policy of a task's retry options; errors start with ``owner`` and name the options."""
        _check_retry(owner, "retry_", attempts, delay, backoff, max_delay)
        return cls(attempts, delay, backoff, max_delay)  # type: ignore[arg-type]  # checked above

    def delay_after(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based), at most ``max_delay``."""
        if not self.exponential_backoff:
            return float(min(self.delay, self.max_delay))
        # Cap the exponent too: 2 ** 10_000 is a slow bignum and an OverflowError as a float.
        growth = 2.0 ** min(attempt - 1, 1023)
        return float(min(self.delay * growth, self.max_delay))


def _check_retry(owner: str, prefix: str, attempts: object, delay: object, backoff: object, max_delay: object) -> None:
    check_count(owner, f"{prefix}attempts", attempts, minimum=1)
    check_seconds(owner, f"{prefix}delay", delay)
    check_flag(owner, f"{prefix}exponential_backoff", backoff)
    check_seconds(owner, f"{prefix}max_delay", max_delay)


class ErrorHandler:
    """Decides what happens to an item whose last attempt failed.

    Subclass it and override ``handle_error``. Return ``(True, value)`` to go on
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
