"""An inline call that blocks the event loop too long logs one warning per task."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest

import conveyor
from conveyor import single_task


@pytest.fixture(autouse=True)
def _threshold() -> Iterator[None]:
    conveyor.warn_blocking_calls(0.05)
    yield
    conveyor.warn_blocking_calls()


def blocking_records(caplog: pytest.LogCaptureFixture, name: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "task_name", None) == name and "blocked the event loop" in r.message]


async def test_a_blocking_sync_call_warns_once_naming_the_task(caplog: pytest.LogCaptureFixture) -> None:
    @single_task(task_name="blocks_sync")
    def blocks(x: int) -> int:
        time.sleep(0.08)
        return x

    with caplog.at_level(logging.WARNING, logger="conveyor"):
        assert await blocks(range(3)).collect() == [0, 1, 2]
        await blocks(range(2)).collect()
    [record] = blocking_records(caplog, "blocks_sync")
    assert "'blocks_sync'" in record.message and 'executor="thread"' in record.message
    assert 'executor="process"' in record.message


async def test_a_blocking_async_call_warns_with_advice_for_async_code(caplog: pytest.LogCaptureFixture) -> None:
    @single_task(task_name="blocks_async")
    async def blocks(x: int) -> int:
        time.sleep(0.08)
        return x

    with caplog.at_level(logging.WARNING, logger="conveyor"):
        await blocks(range(2)).collect()
    [record] = blocking_records(caplog, "blocks_async")
    assert "it is async" in record.message


async def test_quick_calls_and_offloaded_calls_do_not_warn(caplog: pytest.LogCaptureFixture) -> None:
    @single_task(task_name="quick")
    def quick(x: int) -> int:
        return x

    @single_task(task_name="offloaded", executor="thread")
    def offloaded(x: int) -> int:
        time.sleep(0.08)
        return x

    with caplog.at_level(logging.WARNING, logger="conveyor"):
        await (quick | offloaded)(range(3)).collect()
    assert not blocking_records(caplog, "quick") and not blocking_records(caplog, "offloaded")


async def test_the_warning_can_be_turned_off(caplog: pytest.LogCaptureFixture) -> None:
    conveyor.warn_blocking_calls(None)

    @single_task(task_name="blocks_silently")
    def blocks(x: int) -> int:
        time.sleep(0.08)
        return x

    with caplog.at_level(logging.WARNING, logger="conveyor"):
        await blocks(range(2)).collect()
    assert not blocking_records(caplog, "blocks_silently")


def test_a_bad_threshold_is_refused() -> None:
    with pytest.raises(ValueError, match="warn_blocking_calls: after must be"):
        conveyor.warn_blocking_calls(0)
    with pytest.raises(TypeError, match="after must be a number of seconds"):
        conveyor.warn_blocking_calls("1s")  # type: ignore[arg-type]
