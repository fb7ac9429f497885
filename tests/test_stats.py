"""Per-stage run figures collected by the scheduler."""

from __future__ import annotations

import pytest

from conveyor import batch_task, single_task


async def test_stats_count_items_skips_and_retries() -> None:
    attempts: dict[int, int] = {}

    @single_task(on_error="skip_item", retry_attempts=2, retry_delay=0)
    async def flaky(x: int) -> int:
        attempts[x] = attempts.get(x, 0) + 1
        if x == 3:
            raise ValueError(x)
        if x == 5 and attempts[x] == 1:
            raise ConnectionError(x)
        return x

    @batch_task(max_size=4)
    def total(xs: list[int]) -> int:
        return sum(xs)

    stream = (flaky | total)(range(10))
    assert await stream.collect() == [0 + 1 + 2 + 4, 5 + 6 + 7 + 8, 9]
    first, second = stream.stats.stages
    assert (first.name, first.items_in, first.items_out, first.skipped, first.retries) == ("flaky", 10, 9, 1, 2)
    assert (second.items_in, second.items_out, second.calls) == (9, 3, 3)
    assert first.mean_latency is not None and first.mean_latency >= 0
    assert stream.stats.delivered == 3
    assert stream.stats["total"] is second
    assert "flaky" in stream.stats.table()
    with pytest.raises(KeyError, match="no stage named"):
        stream.stats["nope"]


def test_stats_before_the_run_are_zero() -> None:
    @single_task
    def ident(x: int) -> int:
        return x

    stats = ident([1]).stats
    assert [s.items_in for s in stats.stages] == [0]


async def test_items_dropped_by_an_error_handler_count_as_skipped() -> None:
    from typing import Any

    from conveyor import ErrorHandler

    class Drop(ErrorHandler):
        async def handle_error(self, error: Exception, item: Any, task_name: str, attempt: int) -> tuple[bool, Any]:
            return True, None

    @single_task(error_handler=Drop())
    def picky(x: int) -> int:
        if x % 2:
            raise ValueError(x)
        return x

    stream = picky(range(6))
    assert await stream.collect() == [0, 2, 4]
    assert stream.stats.stages[0].skipped == 3
