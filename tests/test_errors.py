"""Error policies, retries with backoff, handlers, notes and logging."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from conveyor import ErrorHandler, LoggingErrorHandler, RetryPolicy, batch_task, single_task
from tests.helpers import settle


async def test_fail_is_the_default_and_raises_the_original_exception_with_notes() -> None:
    @single_task
    async def critical(item: str) -> str:
        if not item:
            raise ValueError("Empty item not allowed")
        return item

    with pytest.raises(ValueError, match="Empty item not allowed") as info:
        await critical(["a", "", "c"]).collect()
    notes = "\n".join(info.value.__notes__)
    assert "'critical'" in notes
    assert "item ''" in notes
    assert "attempt 1 of 1" in notes
    assert not await settle()


async def test_fail_stops_the_run_and_cancels_in_flight_work() -> None:
    cancelled = asyncio.Event()

    @single_task
    async def work(x: int) -> int:
        if x == 0:
            await asyncio.sleep(0.01)
            raise KeyError(x)
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return x

    with pytest.raises(KeyError):
        await work(range(5)).collect()
    assert cancelled.is_set()
    assert not await settle()


async def test_skip_item_skips_and_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    @single_task(on_error="skip_item")
    def parse(text: str) -> int:
        return int(text)

    with caplog.at_level(logging.WARNING, logger="conveyor"):
        assert await parse(["1", "x", "3"]).collect() == [1, 3]
    records = [r for r in caplog.records if getattr(r, "task_name", None) == "parse"]
    assert len(records) == 1 and "skipping item 'x'" in records[0].getMessage()


async def test_skip_batch_skips_the_whole_batch() -> None:
    @batch_task(max_size=2, on_error="skip_batch")
    async def strict(items: list[int]) -> list[int]:
        if 3 in items:
            raise ValueError("no threes")
        return items

    assert await strict(range(6)).collect() == [0, 1, 4, 5]


async def test_batch_failure_note_names_the_batch() -> None:
    @batch_task(max_size=2)
    async def strict(items: list[int]) -> list[int]:
        raise ValueError("bad batch")

    with pytest.raises(ValueError) as info:
        await strict(range(3)).collect()
    assert "a batch of 2 item(s) [0, 1]" in "\n".join(info.value.__notes__)


async def test_retry_attempts_is_the_total_number_of_calls(caplog: pytest.LogCaptureFixture) -> None:
    calls = 0

    @single_task(retry_attempts=3, retry_delay=0)
    async def flaky(x: int) -> int:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise ConnectionError("try again")
        return x

    with caplog.at_level(logging.WARNING, logger="conveyor"):
        assert await flaky([7]).collect() == [7]
    assert calls == 3
    assert sum("retrying" in r.getMessage() for r in caplog.records) == 2


async def test_retries_exhausted_then_policy_applies() -> None:
    calls = 0

    @single_task(retry_attempts=3, retry_delay=0, on_error="skip_item")
    async def always(x: int) -> int:
        nonlocal calls
        calls += 1
        raise ConnectionError("down")

    assert await always([1]).collect() == []
    assert calls == 3


async def test_retry_note_counts_attempts() -> None:
    @single_task(retry_attempts=2, retry_delay=0)
    def always(x: int) -> int:
        raise ConnectionError("down")

    with pytest.raises(ConnectionError) as info:
        await always([1]).collect()
    assert "attempt 2 of 2" in "\n".join(info.value.__notes__)


def test_backoff_schedule() -> None:
    exp = RetryPolicy(attempts=6, delay=1.0, exponential_backoff=True, max_delay=5.0)
    assert [exp.delay_after(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    flat = RetryPolicy(attempts=3, delay=0.5, exponential_backoff=False)
    assert [flat.delay_after(n) for n in (1, 2, 3)] == [0.5, 0.5, 0.5]
    assert exp.delay_after(100_000) == 5.0


async def test_retries_wait_between_attempts(monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []
    real_sleep = asyncio.sleep

    async def recording_sleep(delay: float, *args: Any) -> Any:
        waits.append(delay)
        return await real_sleep(0)

    @single_task(retry_attempts=4, retry_delay=0.5, retry_max_delay=1.5)
    def always(x: int) -> int:
        raise ConnectionError("down")

    monkeypatch.setattr(asyncio, "sleep", recording_sleep)
    with pytest.raises(ConnectionError):
        await always([1]).collect()
    assert waits == [0.5, 1.0, 1.5]


class SkipValueErrors(ErrorHandler):
    def __init__(self) -> None:
        self.seen: list[tuple[str, Any, str, int]] = []

    async def handle_error(self, error: Exception, item: Any, task_name: str, attempt: int) -> tuple[bool, Any]:
        self.seen.append((type(error).__name__, item, task_name, attempt))
        if isinstance(error, ValueError):
            return True, None
        return False, None


async def test_error_handler_continue_drops_or_replaces() -> None:
    handler = SkipValueErrors()

    @single_task(error_handler=handler, retry_attempts=2, retry_delay=0)
    async def validated(item: str) -> str:
        if not item.strip():
            raise ValueError("Empty item")
        return item.upper()

    assert await validated(["a", " ", "b"]).collect() == ["A", "B"]
    assert handler.seen == [("ValueError", " ", "validated", 2)]

    class Replace(ErrorHandler):
        async def handle_error(self, error: Exception, item: Any, task_name: str, attempt: int) -> tuple[bool, Any]:
            return True, f"<{item}>"

    @single_task(error_handler=Replace())
    def boom(item: str) -> str:
        raise RuntimeError(item)

    assert await boom(["x"]).collect() == ["<x>"]


async def test_error_handler_declining_runs_the_failure_path() -> None:
    handler = SkipValueErrors()

    @single_task(error_handler=handler)
    async def bad(item: str) -> str:
        raise KeyError(item)

    with pytest.raises(KeyError):
        await bad(["k"]).collect()

    @single_task(error_handler=handler, on_error="skip_item")
    async def bad_skipped(item: str) -> str:
        raise KeyError(item)

    assert await bad_skipped(["k"]).collect() == []


async def test_error_handler_of_a_batch_task_receives_the_batch() -> None:
    handler = SkipValueErrors()

    @batch_task(max_size=3, error_handler=handler, task_name="loader")
    async def load(items: list[int]) -> list[int]:
        raise ValueError("db down")

    assert await load(range(4)).collect() == []
    assert handler.seen == [("ValueError", [0, 1, 2], "loader", 1), ("ValueError", [3], "loader", 1)]


async def test_a_raising_handler_fails_the_run_with_a_note() -> None:
    class Broken(ErrorHandler):
        async def handle_error(self, error: Exception, item: Any, task_name: str, attempt: int) -> tuple[bool, Any]:
            raise LookupError("handler bug")

    @single_task(error_handler=Broken())
    def bad(x: int) -> int:
        raise ValueError(x)

    with pytest.raises(LookupError) as info:
        await bad([1]).collect()
    assert "error handler of task 'bad'" in "\n".join(info.value.__notes__)


async def test_logging_error_handler_logs_and_drops(caplog: pytest.LogCaptureFixture) -> None:
    @single_task(error_handler=LoggingErrorHandler())
    def bad(x: int) -> int:
        if x == 2:
            raise ValueError("two")
        return x

    with caplog.at_level(logging.ERROR, logger="conveyor"):
        assert await bad([1, 2, 3]).collect() == [1, 3]
    assert any("'bad'" in r.getMessage() and "ValueError('two')" in r.getMessage() for r in caplog.records)


async def test_failure_is_logged_with_task_name(caplog: pytest.LogCaptureFixture) -> None:
    @single_task(task_name="checker")
    def bad(x: int) -> int:
        raise ValueError(x)

    with caplog.at_level(logging.ERROR, logger="conveyor"), pytest.raises(ValueError):
        await bad([1]).collect()
    assert [getattr(r, "task_name", None) for r in caplog.records] == ["checker"]


async def test_failing_input_data_fails_the_run_with_a_note() -> None:
    def data() -> Any:
        yield 1
        raise OSError("disk gone")

    @single_task
    def ident(x: int) -> int:
        return x

    with pytest.raises(OSError) as info:
        await ident(data()).collect()
    assert "input data after 1 item(s)" in "\n".join(info.value.__notes__)


async def test_source_generator_failure() -> None:
    @single_task
    def numbers() -> Any:
        yield 1
        raise OSError("feed closed")

    with pytest.raises(OSError) as info:
        await numbers().collect()
    assert "after producing 1 item(s)" in "\n".join(info.value.__notes__)

    @single_task(on_error="skip_item")
    def tolerant() -> Any:
        yield 1
        raise OSError("feed closed")

    assert await tolerant().collect() == [1]


@pytest.mark.parametrize(
    ("bad", "error"), [("skip", ValueError), ("ignore", ValueError), (None, TypeError), (3, TypeError)]
)
def test_unknown_on_error_is_a_clear_error_at_decoration(bad: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="on_error"):  # a wrong value: ValueError; not a str: TypeError

        @single_task(on_error=bad)  # type: ignore[call-overload]
        def f(x: int) -> int:
            return x


def test_skip_batch_is_for_batch_tasks() -> None:
    with pytest.raises(ValueError, match="skip_item"):

        @single_task(on_error="skip_batch")
        def f(x: int) -> int:
            return x
