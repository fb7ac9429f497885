"""Single tasks: return-value rules, callable kinds, ordering, overlap, concurrency."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

from conveyor import Pipeline, SingleTask, Stream, single_task
from tests.helpers import aiter_of


@single_task
async def upper(item: str) -> str:
    await asyncio.sleep(0)
    return item.upper()


async def test_basic_usage_collects_in_input_order() -> None:
    assert await upper(["hello", "world"]).collect() == ["HELLO", "WORLD"]


async def test_returns_a_stream_usable_with_async_for() -> None:
    stream = upper(["a", "b"])
    assert isinstance(stream, Stream)
    assert [x async for x in stream] == ["A", "B"]


async def test_every_kind_of_callable() -> None:
    @single_task
    def sync_double(x: int) -> int:
        return x * 2

    @single_task
    async def async_double(x: int) -> int:
        return x * 2

    @single_task
    def gen_twice(x: int) -> Iterator[int]:
        yield x
        yield x

    @single_task
    async def agen_twice(x: int) -> AsyncIterator[int]:
        yield x
        await asyncio.sleep(0)
        yield x

    assert await sync_double([1, 2]).collect() == [2, 4]
    assert await async_double([1, 2]).collect() == [2, 4]
    assert await gen_twice([1, 2]).collect() == [1, 1, 2, 2]
    assert await agen_twice([1, 2]).collect() == [1, 1, 2, 2]


async def test_none_drops_the_item() -> None:
    @single_task
    def evens(x: int) -> int | None:
        return x if x % 2 == 0 else None

    assert await evens(range(7)).collect() == [0, 2, 4, 6]


async def test_a_returned_list_is_one_item() -> None:
    @single_task
    async def pair(x: int) -> list[int]:
        return [x, x]

    assert await pair([1, 2]).collect() == [[1, 1], [2, 2]]


async def test_accepts_any_iterable_or_async_iterable() -> None:
    @single_task
    def inc(x: int) -> int:
        return x + 1

    assert await inc((1, 2)).collect() == [2, 3]
    assert await inc(range(3)).collect() == [1, 2, 3]
    assert await inc(x for x in [5]).collect() == [6]
    assert await inc(aiter_of([1, 2, 3])).collect() == [2, 3, 4]
    assert await inc([]).collect() == []


@pytest.mark.parametrize("data", ["hello", b"bytes", bytearray(b"x")])
def test_str_or_bytes_data_is_a_clear_error(data: object) -> None:
    with pytest.raises(TypeError, match="iterable of items.*wrap it"):
        upper(data)  # type: ignore[arg-type]


def test_non_iterable_data_is_a_clear_error() -> None:
    with pytest.raises(TypeError, match="iterable or async iterable"):
        upper(42)  # type: ignore[arg-type]


def test_missing_data_is_a_clear_error() -> None:
    with pytest.raises(TypeError, match="expects input data"):
        upper()


async def test_ordered_output_despite_out_of_order_completion() -> None:
    @single_task
    async def slow_first(x: int) -> int:
        await asyncio.sleep(0.05 if x == 0 else 0)
        return x

    assert await slow_first(range(5)).collect() == [0, 1, 2, 3, 4]


async def test_as_completed_yields_in_completion_order() -> None:
    release = asyncio.Event()

    @single_task
    async def zero_waits(x: int) -> int:
        if x == 0:
            await release.wait()
        return x

    seen = []
    async for x in zero_waits.as_completed(range(4)):
        seen.append(x)
        if len(seen) == 3:
            release.set()
    assert seen == [1, 2, 3, 0]


async def test_results_stream_before_the_input_ends() -> None:
    """The first result arrives while the source is still blocked: nothing waits for the end."""
    gate = asyncio.Event()

    async def source() -> AsyncIterator[int]:
        yield 1
        await gate.wait()
        yield 2

    stream = upper_int(source())
    first = await asyncio.wait_for(anext(stream), timeout=10)
    assert first == 10
    gate.set()
    assert await stream.collect() == [20]


@single_task
async def upper_int(x: int) -> int:
    return x * 10


async def test_stages_overlap() -> None:
    """Stage 2 works on item 0 while stage 1 is still busy with item 1."""
    item1_started = asyncio.Event()
    stage2_saw_item0 = asyncio.Event()

    @single_task(concurrency_limit=1)
    async def first(x: int) -> int:
        if x == 1:
            item1_started.set()
            await asyncio.wait_for(stage2_saw_item0.wait(), timeout=10)
        return x

    @single_task
    async def second(x: int) -> int:
        if x == 0:
            stage2_saw_item0.set()
        return x

    assert await (first | second)([0, 1]).collect() == [0, 1]


async def test_concurrency_limit_is_respected() -> None:
    running = 0
    peak = 0

    @single_task(concurrency_limit=3)
    async def tracked(x: int) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.001)
        running -= 1
        return x

    assert await tracked(range(50)).collect() == list(range(50))
    assert peak == 3


async def test_unlimited_concurrency_overlaps_calls() -> None:
    started = 0
    all_started = asyncio.Event()

    @single_task
    async def wait_for_all(x: int) -> int:
        nonlocal started
        started += 1
        if started == 20:
            all_started.set()
        await asyncio.wait_for(all_started.wait(), timeout=10)
        return x

    assert await wait_for_all(range(20)).collect() == list(range(20))


async def test_source_task_produces_the_stream() -> None:
    @single_task
    async def numbers() -> AsyncIterator[int]:
        for i in range(3):
            yield i

    @single_task
    def double(x: int) -> int:
        return 2 * x

    assert await numbers().collect() == [0, 1, 2]
    assert await (numbers | double)().collect() == [0, 2, 4]


async def test_source_task_returning_one_value() -> None:
    @single_task
    async def answer() -> int:
        return 42

    assert await answer().collect() == [42]


def test_source_task_given_data_is_an_error() -> None:
    @single_task
    def numbers() -> Iterator[int]:
        yield 1

    with pytest.raises(TypeError, match="is a source"):
        numbers([1, 2])


def test_source_task_in_the_middle_is_rejected_at_composition() -> None:
    @single_task
    def numbers() -> Iterator[int]:
        yield 1

    with pytest.raises(TypeError, match="can only start a pipeline"):
        upper | numbers


async def test_endless_source_is_read_only_as_fast_as_consumed() -> None:
    produced = 0

    @single_task
    def forever() -> Iterator[int]:
        nonlocal produced
        while True:
            produced += 1
            yield produced

    stream = (forever | upper_int)(max_in_flight=8)
    got = [await anext(stream) for _ in range(5)]
    assert got == [10, 20, 30, 40, 50]
    assert produced < 5 + 3 * 8 + 4  # bounded by the windows, not by the stream
    await stream.aclose()


async def test_methods_bind_per_instance() -> None:
    class Scaler:
        def __init__(self, factor: int) -> None:
            self.factor = factor

        @single_task
        async def scale(self, x: int) -> int:
            return x * self.factor

    assert isinstance(Scaler.scale, SingleTask)
    assert await Scaler(2).scale([1, 2]).collect() == [2, 4]
    assert await Scaler(10).scale([1, 2]).collect() == [10, 20]
    assert await (Scaler(3).scale | upper_int)([1]).collect() == [30]


async def test_a_pipeline_runs_many_times_and_concurrently() -> None:
    pipeline = upper_int | upper_int
    first, second = await asyncio.gather(pipeline(range(50)).collect(), pipeline(range(5)).collect())
    assert first == [x * 100 for x in range(50)]
    assert second == [x * 100 for x in range(5)]
    assert await pipeline([1]).collect() == [100]


async def test_bounded_memory_with_a_slow_consumer() -> None:
    """The source is read only as fast as the pipeline drains (backpressure)."""
    read = 0

    def source() -> Iterator[int]:
        nonlocal read
        for i in range(10_000):
            read += 1
            yield i

    stream = (upper_int | upper_int)(source(), max_in_flight=4)
    assert await anext(stream) == 0
    await asyncio.sleep(0.05)
    assert read <= 2 * 4 + 4
    await stream.aclose()


def test_max_in_flight_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_in_flight"):
        upper(["a"], max_in_flight=0)


async def test_unbounded_is_an_explicit_choice() -> None:
    assert await upper(["a"], max_in_flight=None).collect() == ["A"]


async def test_empty_pipeline_passes_items_through() -> None:
    assert await Pipeline()([1, 2]).collect() == [1, 2]


async def test_asyncio_timeout_inside_a_task_applies_to_that_call_only() -> None:
    @single_task(on_error="skip_item")
    async def bounded(x: int) -> int:
        async with asyncio.timeout(0.01 if x == 1 else 10):
            await asyncio.sleep(5 if x == 1 else 0.001)
        return x

    assert await (bounded | upper_int)(range(4)).collect() == [0, 20, 30]


async def test_a_call_keeps_one_current_task_across_suspensions() -> None:
    @single_task
    async def same_task(x: int) -> bool:
        before = asyncio.current_task()
        await asyncio.sleep(0)
        await asyncio.sleep(0.001)
        return asyncio.current_task() is before

    assert await same_task(range(30)).collect() == [True] * 30


async def test_context_variables_set_by_a_call_do_not_leak_into_others() -> None:
    import contextvars

    var: contextvars.ContextVar[int] = contextvars.ContextVar("var", default=-1)

    @single_task
    async def set_and_read(x: int) -> tuple[int, int]:
        seen = var.get()
        var.set(x)
        await asyncio.sleep(0)
        return seen, var.get()

    results = await set_and_read(range(20)).collect()
    assert results == [(-1, x) for x in range(20)]
