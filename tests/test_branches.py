"""The graph branches: fan, fork, route, tee and merge, at composition and at run time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
from typing_extensions import TypeIs

from conveyor import (
    BranchShapeError,
    NoRouteError,
    PipelineTypeError,
    batch_task,
    fan,
    fork,
    merge,
    route,
    route_by_key,
    route_by_type,
    single_task,
    tee,
)
from tests.helpers import aiter_of, settle


@single_task
async def inc(x: int) -> int:
    await asyncio.sleep(0.0005 * (x % 3))  # later items sometimes finish first
    return x + 1


@single_task
def neg(x: int) -> int:
    return -x


@single_task
def twice(x: int) -> Iterator[int]:
    yield x
    yield x


@single_task
def odd_only(x: int) -> int | None:
    return x if x % 2 else None


@batch_task(max_size=3)
def total(xs: list[int]) -> int:
    return sum(xs)


@dataclass
class Good:
    value: int


@dataclass
class Bad:
    reason: str


@single_task
def parse(text: str) -> Good | Bad:
    return Good(int(text)) if text.isdigit() else Bad(f"not a number: {text}")


@single_task
def keep(good: Good) -> int:
    return good.value


@single_task
def why(bad: Bad) -> str:
    return bad.reason


# -- fan ----------------------------------------------------------------------------------


async def test_fan_keeps_input_order_then_branch_order() -> None:
    assert await fan(inc, neg)(range(4)).collect() == [1, 0, 2, -1, 3, -2, 4, -3]


async def test_fan_with_generators_filters_and_batches() -> None:
    assert await fan(twice, odd_only)(range(4)).collect() == [0, 0, 1, 1, 1, 2, 2, 3, 3, 3]
    # A batch's output belongs to the batch's last item.
    assert await fan(total, neg)(range(7)).collect() == [0, -1, 3, -2, -3, -4, 12, -5, 6, -6]


async def test_fan_as_completed_delivers_everything_once() -> None:
    got = await fan(inc, neg, twice).as_completed(range(50)).collect()
    expected = [x + 1 for x in range(50)] + [-x for x in range(50)] + [x for x in range(50) for _ in "ab"]
    assert sorted(got) == sorted(expected)


async def test_fan_output_type_is_the_union() -> None:
    @single_task
    def label(x: int) -> str:
        return str(x)

    pipeline = inc | fan(neg, label)
    assert pipeline.output_type == int | str


# -- fork ---------------------------------------------------------------------------------


async def test_the_same_task_in_two_branches_gets_two_labels() -> None:
    step = fork(neg, neg, inc)
    assert step.stages[0].labels == ("neg", "neg (2)", "inc")
    assert "branch 'neg (2)':" in step.outline()
    stream = step([1, 2])
    assert await stream.collect() == [(-1, -1, 2), (-2, -2, 3)]
    paths = [row.path for row in stream.stats.stages if row.name == "neg"]
    assert [path.split(" of fork")[0] for path in paths] == ["branch 'neg' (1 of 3)", "branch 'neg (2)' (2 of 3)"]


async def test_fork_pairs_the_answers_of_each_item() -> None:
    pipeline = fork(inc, neg)
    assert await pipeline(range(4)).collect() == [(1, 0), (2, -1), (3, -2), (4, -3)]
    assert pipeline.output_type == tuple[int, int]


async def test_fork_pairs_come_in_input_order_in_as_completed_mode_too() -> None:
    assert await fork(inc, neg).as_completed(range(30)).collect() == [(x + 1, -x) for x in range(30)]


async def test_fork_drops_an_item_a_branch_filtered_or_skipped_and_counts_it() -> None:
    @single_task(on_error="skip_item")
    def fragile(x: int) -> int:
        if x == 2:
            raise ValueError(x)
        return x * 10

    stream = fork(fragile, odd_only)(range(6))
    assert await stream.collect() == [(10, 1), (30, 3), (50, 5)]
    by_name = {s.name: s for s in stream.stats.stages}
    assert by_name["fork(fragile, odd_only)"].skipped == 3
    assert by_name["fragile"].skipped == 1


async def test_fork_rejects_several_answers_naming_the_branch_and_item() -> None:
    with pytest.raises(BranchShapeError, match=r"branch 'twice' \(1 of 2\) of fork.*2 outputs for item 0"):
        await fork(twice, neg)(range(3)).collect()
    assert not await settle()


def test_fork_of_a_sink_is_rejected_at_composition() -> None:
    @single_task
    def drop(x: int) -> None:
        pass

    with pytest.raises(TypeError, match="ends in a sink"):
        fork(inc, drop)


# -- route --------------------------------------------------------------------------------


def is_good(item: Good | Bad) -> TypeIs[Good]:
    return isinstance(item, Good)


async def test_route_by_predicate_narrows_and_keeps_order() -> None:
    pipeline = parse | route(is_good, keep, why)
    assert await pipeline(["1", "x", "3"]).collect() == [1, "not a number: x", 3]
    assert pipeline.output_type == int | str


async def test_route_by_type_and_by_key() -> None:
    assert await (parse | route_by_type((Good, keep), (Bad, why)))(["7", "?"]).collect() == [7, "not a number: ?"]
    by_key = route_by_key(lambda x: x % 3, {0: inc, 1: neg, 2: twice})
    assert await by_key(range(6)).collect() == [1, -1, 2, 2, 4, -4, 5, 5]


async def test_an_item_no_branch_takes_is_an_error_unless_there_is_a_default() -> None:
    def small(x: int) -> bool:
        return x < 2

    with pytest.raises(NoRouteError, match="takes item 2") as info:
        await route(small, inc)(range(5)).collect()
    assert any("route at" in note for note in info.value.__notes__)
    assert await route(small, inc, neg)(range(4)).collect() == [1, 2, -2, -3]
    assert await route_by_key(lambda x: x, {0: inc}, default=neg)(range(3)).collect() == [1, -1, -2]
    assert not await settle()


def test_a_branch_that_does_not_fit_its_narrowed_type_is_a_composition_error() -> None:
    with pytest.raises(PipelineTypeError) as info:
        parse | route(is_good, why, keep)  # 'why' takes Bad, but gets Good
    message = str(info.value)
    assert "'why'" in message and "Good" in message
    assert "where: branch" in message and "of route" in message


def test_a_branch_mismatch_names_the_branch_both_tasks_and_types() -> None:
    @single_task
    def shout(text: str) -> str:
        return text.upper()

    with pytest.raises(PipelineTypeError) as info:
        inc | fork(neg, shout)
    message = str(info.value)
    assert "'inc'" in message and "'shout'" in message
    assert "int" in message and "str" in message
    assert "branch 'shout' (2 of 2) of fork" in message


def test_async_predicates_are_refused() -> None:
    async def check(x: int) -> bool:
        return True

    with pytest.raises(TypeError, match="plain functions"):
        route(check, inc)


# -- tee ----------------------------------------------------------------------------------


async def test_tee_sends_copies_to_side_branches_and_the_stream_goes_on() -> None:
    seen: list[int] = []
    logged: list[int] = []

    @single_task
    async def write(x: int) -> None:
        await asyncio.sleep(0.001)
        seen.append(x)

    @single_task
    def log_line(x: int) -> int:
        logged.append(x)
        return x

    pipeline = inc | tee(write, log_line) | neg
    assert pipeline.output_type is int
    assert await pipeline(range(5)).collect() == [-1, -2, -3, -4, -5]
    assert sorted(seen) == [1, 2, 3, 4, 5]  # the stream ended after the side branches did
    assert logged == [1, 2, 3, 4, 5]


async def test_a_failing_side_branch_fails_the_run_naming_the_branch() -> None:
    @single_task
    def picky(x: int) -> None:
        if x == 3:
            raise ValueError("three")

    with pytest.raises(ValueError, match="three") as info:
        await tee(picky)(range(10)).collect()
    assert any("branch 'picky' (1 of 1) of tee" in note for note in info.value.__notes__)
    assert not await settle()


# -- merge --------------------------------------------------------------------------------


async def test_merge_sources_and_data_into_one_stream() -> None:
    @single_task
    async def letters() -> AsyncIterator[str]:
        for letter in "abc":
            await asyncio.sleep(0)
            yield letter

    pipeline = merge(letters, [1, 2, 3], aiter_of([10, 20]))
    got = await pipeline().collect()
    assert sorted(map(str, got)) == sorted(["a", "b", "c", "1", "2", "3", "10", "20"])
    assert [x for x in got if isinstance(x, str)] == ["a", "b", "c"]  # each source's own order
    assert [x for x in got if isinstance(x, int) and x < 10] == [1, 2, 3]


def test_merge_needs_sources() -> None:
    with pytest.raises(TypeError, match="needs input data"):
        merge(inc, [1])
    with pytest.raises(TypeError, match="is a source"):
        merge([1], [2])([3])  # type: ignore[call-arg]


# -- every branch is a full pipeline --------------------------------------------------------


async def test_nested_combinators_side_inputs_retries_and_limits_in_branches() -> None:
    attempts: dict[int, int] = {}

    @single_task(retry_attempts=2, retry_delay=0, concurrency_limit=2)
    async def flaky(x: int, offset: int) -> int:
        attempts[x] = attempts.get(x, 0) + 1
        if attempts[x] == 1 and x % 2:
            raise ConnectionError(x)
        return x + offset

    pipeline = fork(flaky.with_inputs(offset=100), fan(inc, neg) | total)
    stream = pipeline(range(4))
    # fan gives 1, 0 | 2, -1 | 3, -2 | 4, -3; total sums batches of 3 and each sum belongs
    # to its batch's last item: item 0 gets no answer (dropped, counted), items 1-3 one each.
    assert await stream.collect() == [(101, 3), (102, 0), (103, 1)]
    assert stream.stats["fork(flaky, fan(inc, neg)...)"].skipped == 1
    assert stream.stats["flaky"].retries == 2


async def test_nested_steps_inside_ordered_branches_keep_each_items_outputs_together() -> None:
    # Inside an ordered branch, a nested step must say where each outer item's outputs
    # end: one output, several (twice), none (odd_only drops even items) or a batch.
    inner_fan = fan(inc, twice) | odd_only
    inner_route = route_by_key(lambda x: x % 2, {0: twice, 1: neg})
    outer = fan(inner_fan, inner_route, inc)
    expected: list[int] = []
    for x in range(6):
        expected += [y for y in [x + 1, x, x] if y % 2]  # inner_fan, then odd_only
        expected += [x, x] if x % 2 == 0 else [-x]  # inner_route
        expected += [x + 1]  # inc
    assert await outer(range(6)).collect() == expected
    # fan(neg, inc) gives -x, x + 1; total sums batches of 3, each sum belonging to its
    # batch's last item: items 1, 2, 4, 5 get 0, 3, -3, 6; items 0 and 3 get none.
    paired = fork(inc, fan(neg, inc) | total)
    stream = paired(range(6))
    assert await stream.collect() == [(2, 0), (3, 3), (5, -3), (6, 6)]
    assert stream.stats["fork(inc, fan(neg, inc)...)"].skipped == 2


async def test_stats_cover_every_stage_of_every_branch() -> None:
    stream = (inc | fan(neg, twice))(range(3))
    await stream.collect()
    names = [(s.name, s.path.split(" of ")[0]) for s in stream.stats.stages]
    assert names == [("inc", ""), ("fan(neg, twice)", ""), ("neg", "branch 'neg' (1"), ("twice", "branch 'twice' (2")]
    by_name = {s.name: s for s in stream.stats.stages}
    assert by_name["twice"].items_out == 6 and by_name["fan(neg, twice)"].items_out == 9


# -- bounds, errors and cancellation ----------------------------------------------------------


async def test_a_slow_branch_holds_back_the_source() -> None:
    read = 0

    def endless() -> Iterator[int]:
        nonlocal read
        while True:
            read += 1
            yield read

    gate = asyncio.Event()

    @single_task
    async def slow(x: int) -> int:
        await gate.wait()
        return x

    stream = fan(slow, neg)(endless(), max_in_flight=4)
    reader = asyncio.create_task(anext(stream))
    await asyncio.sleep(0.05)
    assert read < 40  # a few windows' worth, not the whole endless input
    gate.set()
    assert await asyncio.wait_for(reader, 10) == 1
    await stream.aclose()
    assert not await settle()


async def test_breaking_out_cancels_every_branch() -> None:
    started: list[int] = []
    cancelled: list[int] = []

    @single_task
    async def hang(x: int) -> int:
        started.append(x)
        try:
            await asyncio.sleep(3600 if x else 0)
        except asyncio.CancelledError:
            cancelled.append(x)
            raise
        return x

    stream = fan(hang, neg).as_completed(range(10))
    async for _ in stream:
        if len(started) > 1:  # a call that hangs is running
            break
    await stream.aclose()
    assert cancelled and set(cancelled) <= set(started) - {0}
    assert not await settle()


async def test_render_and_outline_show_the_branches() -> None:
    @single_task
    def text(x: object) -> str:
        return str(x)

    @single_task
    def size(x: object) -> int:
        return len(str(x))

    pipeline = parse | route_by_type((Good, keep), (Bad, why)) | fork(text, size)
    assert pipeline.output_type == tuple[str, int]
    dot = pipeline.to_dot()
    assert "route" in dot and "fork" in dot and "pair" in dot
    text_outline = pipeline.outline()
    assert "branch 'Good':" in text_outline and "branch 'size':" in text_outline
    assert "route(Good, Bad)" in text_outline


def test_a_route_whose_predicate_or_types_cannot_take_the_items_is_a_composition_error() -> None:
    def long_text(text: str) -> bool:
        return len(text) > 3

    with pytest.raises(PipelineTypeError, match=r"expects str for parameter 'text'"):
        inc | route(long_text, neg, neg)
    @single_task
    def shout(text: str) -> str:
        return text.upper()

    with pytest.raises(PipelineTypeError, match="items of type int are of none of the listed types"):
        inc | route_by_type((str, shout), (bytes, shout))  # type: ignore[arg-type]
    assert (inc | route_by_type((str, shout), default=neg)).output_type == str | int  # type: ignore[arg-type]


async def test_failing_input_data_fails_the_run_as_the_users_error() -> None:
    def broken() -> Iterator[int]:
        yield 1
        raise OSError("disk gone")

    with pytest.raises(OSError, match="disk gone") as info:
        await fan(inc, neg)(broken()).collect()
    assert not any("internal error" in note for note in info.value.__notes__)
    with pytest.raises(OSError, match="disk gone") as info:
        await merge(broken(), [1, 2])().collect()
    assert not any("internal error" in note for note in info.value.__notes__)
    assert not await settle()
