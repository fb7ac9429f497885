"""Rate limits (``rate_limit=``, ``RateLimiter``): the bucket's logic on an injected clock,
and at run time the spacing of calls (only lower bounds on time, which a loaded
machine cannot break), sharing, retries, backpressure and the stats."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conveyor import Pipeline, RateLimiter, batch_task, single_task
from conveyor.render import outline
from tests.helpers import settle

SLACK = 0.002  # a timer may fire up to the clock's resolution early; this is far more


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


# -- the bucket, on an injected clock -----------------------------------------------------------


def test_calls_are_evenly_spaced_by_default() -> None:
    clock = FakeClock()
    limiter = RateLimiter(10, per=1.0, clock=clock)
    waits = [limiter.reserve()[1] for _ in range(4)]
    assert waits == pytest.approx([0.0, 0.1, 0.2, 0.3])


def test_a_burst_is_granted_at_once_and_refills_only_up_to_its_size() -> None:
    clock = FakeClock()
    limiter = RateLimiter(10, per=1.0, burst=3, clock=clock)
    assert [limiter.reserve()[1] for _ in range(4)] == pytest.approx([0.0, 0.0, 0.0, 0.1])
    clock.now = 100.0  # a long idle spell banks no more than the burst
    assert [limiter.reserve()[1] for _ in range(4)] == pytest.approx([0.0, 0.0, 0.0, 0.1])


def test_a_period_longer_than_a_second() -> None:
    clock = FakeClock()
    limiter = RateLimiter(2, per=60.0, clock=clock)
    assert [limiter.reserve()[1] for _ in range(3)] == pytest.approx([0.0, 30.0, 60.0])


def test_a_call_that_starts_late_moves_the_schedule_on() -> None:
    clock = FakeClock()
    limiter = RateLimiter(10, per=1.0, clock=clock)
    limiter.reserve()
    booked, wait = limiter.reserve()
    assert wait == pytest.approx(0.1)
    clock.now = 0.3  # the loop was busy: the call starts 0.2 s late
    limiter.started(booked)
    start, _ = limiter.reserve()
    assert start == pytest.approx(0.4)  # one interval after the call as made


def test_a_cancelled_last_booking_is_undone_and_an_earlier_one_keeps_its_turn() -> None:
    clock = FakeClock()
    limiter = RateLimiter(10, per=1.0, clock=clock)
    limiter.reserve()
    second, _ = limiter.reserve()
    limiter.cancel(second)
    assert limiter.reserve()[0] == pytest.approx(0.1)  # the freed turn is given again
    third, _ = limiter.reserve()
    limiter.reserve()
    limiter.cancel(third)  # not the last one: later bookings are counted after it
    assert limiter.reserve()[0] == pytest.approx(0.4)


@given(
    calls=st.integers(1, 20),
    per=st.sampled_from([0.5, 1.0, 3.0]),
    burst=st.integers(1, 5),
    steps=st.lists(st.tuples(st.floats(0, 0.5), st.floats(0, 0.3)), min_size=1, max_size=60),
)
def test_calls_as_made_never_exceed_rate_times_span_plus_burst(
    calls: int, per: float, burst: int, steps: list[tuple[float, float]]
) -> None:
    """Random arrivals, each call starting at its booked time plus a random lateness
    (a busy loop), one caller at a time: every span [a, b] holds at most R(b-a) + burst
    starts."""
    clock = FakeClock()
    limiter = RateLimiter(calls, per=per, burst=burst, clock=clock)
    starts: list[float] = []
    for gap, late in steps:
        clock.now += gap
        booked, _ = limiter.reserve()
        clock.now = max(clock.now, booked) + late
        limiter.started(booked)
        starts.append(clock.now)
    rate = calls / per
    for i in range(len(starts)):
        for j in range(i, len(starts)):
            assert j - i + 1 <= rate * (starts[j] - starts[i]) + burst + 1e-9


# -- options ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        ("10", TypeError, "rate_limit must be calls per second"),
        (True, TypeError, "rate_limit must be calls per second"),
        (2.5, TypeError, "rate_limit must be calls per second"),
        ((10,), TypeError, "rate_limit must be calls per second"),
        (0, ValueError, "rate_limit must be at least 1"),
        ((0, 1.0), ValueError, "rate_limit's calls must be at least 1"),
        ((10, 0), ValueError, "rate_limit's period must be a finite number of seconds > 0"),
        ((10, "1"), TypeError, "rate_limit's period must be a number of seconds"),
    ],
)
def test_bad_rate_limits_fail_at_decoration(value: object, error: type[Exception], message: str) -> None:
    async def fetch(x: int) -> int:
        return x

    with pytest.raises(error, match=message) as caught:
        single_task(rate_limit=value)(fetch)  # type: ignore[call-overload]
    assert "task 'fetch'" in str(caught.value)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"calls": 0}, "calls must be at least 1"),
        ({"calls": 1, "per": -1.0}, "per must be a finite number of seconds > 0"),
        ({"calls": 1, "burst": 0}, "burst must be at least 1"),
        ({"calls": 1.5}, "calls must be an int"),
    ],
)
def test_bad_limiters_fail_when_made(options: dict[str, Any], message: str) -> None:
    with pytest.raises((TypeError, ValueError), match=message):
        RateLimiter(**options)


def test_a_source_task_cannot_take_a_rate_limit() -> None:
    def numbers() -> Iterator[int]:
        yield 1

    with pytest.raises(TypeError, match="a source task .* is called once per run"):
        single_task(rate_limit=5)(numbers)


def test_the_per_run_forms_give_each_run_its_own_bucket_and_a_limiter_is_shared() -> None:
    shared = RateLimiter(5)

    @single_task(rate_limit=(5, 2.0))
    async def per_run(x: int) -> int:
        return x

    @single_task(rate_limit=shared)
    async def common(x: int) -> int:
        return x

    assert per_run.rate_limit is not None and per_run.rate_limit.for_run() is not per_run.rate_limit
    assert common.rate_limit is shared and shared.for_run() is shared
    assert "rate_limit=5/2s" in repr(per_run) and "shared" not in repr(per_run)
    assert "rate_limit=5/1s shared" in repr(common)
    assert "rate_limit=5/2s" in outline(Pipeline.of(per_run))


# -- at run time ------------------------------------------------------------------------------


def _assert_spaced(starts: list[float], rate: float, burst: int) -> None:
    starts = sorted(starts)
    for i in range(len(starts)):
        for j in range(i + burst, len(starts)):
            assert starts[j] - starts[i] >= (j - i + 1 - burst) / rate - SLACK, (i, j, starts)


def _recording(starts: list[float]) -> Any:
    async def call(x: int) -> int:
        starts.append(asyncio.get_running_loop().time())
        await asyncio.sleep(0)
        return x

    return call


@pytest.mark.parametrize("ordered", [True, False])
async def test_calls_of_a_limited_stage_keep_the_rate(ordered: bool) -> None:
    starts: list[float] = []
    limited = single_task(rate_limit=(20, 1.0), task_name="limited")(_recording(starts))

    @single_task
    def before(x: int) -> int:
        return x

    pipeline = before | limited
    stream = pipeline(range(8)) if ordered else pipeline.as_completed(range(8))
    results = await stream.collect()
    assert sorted(results) == list(range(8))
    _assert_spaced(starts, rate=20, burst=1)
    wait = stream.stats["limited"].rate_wait
    assert wait is not None and wait >= 7 / 20 - 8 * SLACK
    assert stream.stats["before"].rate_wait is None


async def test_one_limiter_shared_by_two_pipelines_running_at_once_keeps_one_rate() -> None:
    starts: list[float] = []
    shared = RateLimiter(20, per=1.0, burst=2)
    first = single_task(rate_limit=shared, task_name="first")(_recording(starts))
    second = batch_task(max_size=1, rate_limit=shared, task_name="second")(_batch_recording(starts))
    assert (await asyncio.gather(first(range(5)).collect(), second(range(5)).collect())) == [
        list(range(5)), list(range(5))
    ]
    assert len(starts) == 10
    _assert_spaced(starts, rate=20, burst=2)


def _batch_recording(starts: list[float]) -> Any:
    async def call(items: list[int]) -> list[int]:
        starts.append(asyncio.get_running_loop().time())
        return items

    return call


async def test_a_retry_waits_for_its_own_token() -> None:
    starts: list[float] = []

    @single_task(rate_limit=20, retry_attempts=3, retry_delay=0)
    async def flaky(x: int) -> int:
        starts.append(asyncio.get_running_loop().time())
        if len(starts) < 3:
            raise ConnectionError("try again")
        return x

    assert await flaky([1]).collect() == [1]
    _assert_spaced(starts, rate=20, burst=1)


async def test_a_limited_stage_holds_back_its_upstream() -> None:
    read = 0

    def source() -> Iterator[int]:
        nonlocal read
        for i in range(200):
            read += 1
            yield i

    @single_task
    def before(x: int) -> int:
        return x

    limited = single_task(rate_limit=50)(_recording([]))
    stream = (before | limited)(source(), max_in_flight=4)
    taken = 0
    async for _ in stream:
        taken += 1
        if taken == 3:
            break
    await stream.aclose()
    # each stage holds at most its window, and each pump one more item
    assert read <= taken + 2 * 4 + 2 + 1
    assert not await settle()


async def test_closing_while_waiting_for_a_token_ends_at_once() -> None:
    limiter = RateLimiter(1, per=3600.0)  # one call an hour

    @single_task(rate_limit=limiter)
    async def hourly(x: int) -> int:
        return x

    stream = hourly(range(3))
    async for first in stream:
        assert first == 0
        break
    await asyncio.wait_for(stream.aclose(), timeout=10.0)
    assert not await settle()


async def test_the_stats_views_show_the_rate_wait_only_with_a_limit() -> None:
    limited = single_task(rate_limit=100, task_name="limited")(_recording([]))

    @single_task
    async def plain(x: int) -> int:
        return x

    stream = (plain | limited)(range(3))
    await stream.collect()
    assert "rate wait" in stream.stats.table() and "rate wait" in stream.stats.html()
    unlimited = plain(range(3))
    await unlimited.collect()
    assert "rate wait" not in unlimited.stats.table() and "rate wait" not in unlimited.stats.html()


async def test_a_batch_call_takes_one_token() -> None:
    starts: list[float] = []
    total = batch_task(max_size=4, rate_limit=20)(_batch_recording(starts))
    assert await total(range(8)).collect() == list(range(8))
    assert len(starts) == 2
    _assert_spaced(starts, rate=20, burst=1)


async def test_an_async_generator_source_feeds_a_limited_stage() -> None:
    async def numbers() -> AsyncIterator[int]:
        for i in range(4):
            yield i

    starts: list[float] = []
    limited = single_task(rate_limit=40)(_recording(starts))
    assert await (single_task(numbers) | limited)().collect() == list(range(4))
    _assert_spaced(starts, rate=40, burst=1)
