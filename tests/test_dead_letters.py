"""Dead letters: the records, where final failures go, how they combine with retries,
error handlers and on_error, bounds, failures of the branch itself, stream.failures,
the composition check, and the graph / outline / stats views."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import timezone
from typing import Any

import pytest

from conveyor import (
    ErrorHandler,
    Failed,
    Failures,
    Pipeline,
    PipelineTypeError,
    batch_task,
    fan,
    single_task,
    tee,
)


def run(stream: Any) -> list[Any]:
    """Collect ``stream`` in a fresh event loop."""
    result: list[Any] = asyncio.run(stream.collect())
    return result


def collecting() -> tuple[list[Failed[Any]], Any]:
    """A list and a sink task appending every record it is given to it."""
    records: list[Failed[Any]] = []

    @single_task
    def keep(record: Failed[object]) -> None:
        records.append(record)

    return records, keep


@single_task
def parse(text: str) -> int:
    return int(text)


@single_task
def no_threes(n: int) -> int:
    if n == 3:
        raise ValueError("three")
    return n


# -- the records ------------------------------------------------------------------------------


def test_a_final_failure_goes_to_the_branch_as_a_full_record() -> None:
    records, keep = collecting()
    pipeline = parse.with_dead_letters(keep) | no_threes
    assert run(pipeline(["1", "x", "2"])) == [1, 2]
    (record,) = records
    assert record.item == "x" and record.task == "parse" and record.attempts == 1
    assert isinstance(record.error, ValueError)
    assert record.failed_at.tzinfo is not None and record.failed_at.utcoffset() == timezone.utc.utcoffset(None)
    assert any("'parse'" in note and "'x'" in note for note in record.notes)
    assert record.batch is None and record.path == ""


def test_the_record_counts_the_attempts_of_the_retries() -> None:
    records, keep = collecting()
    calls: list[int] = []

    @single_task(retry_attempts=3, retry_delay=0)
    def flaky(n: int) -> int:
        calls.append(n)
        raise RuntimeError(f"no {n}")

    assert run(flaky.with_dead_letters(keep)([7])) == []
    assert calls == [7, 7, 7]
    assert [(r.item, r.attempts, str(r.error)) for r in records] == [(7, 3, "no 7")]


def test_failed_is_immutable() -> None:
    records, keep = collecting()
    run(parse.with_dead_letters(keep)(["x"]))
    with pytest.raises(AttributeError):
        records[0].item = "y"  # type: ignore[misc]


# -- how it combines with on_error and error handlers -------------------------------------------


@pytest.mark.parametrize("on_error", ["fail", "skip_item"])
def test_the_branch_takes_final_failures_whatever_on_error_says(on_error: Any) -> None:
    records, keep = collecting()

    @single_task(on_error=on_error)
    def check(n: int) -> int:
        if n % 2:
            raise ValueError(n)
        return n

    stream = check.with_dead_letters(keep)(range(6))
    assert run(stream) == [0, 2, 4]
    assert [r.item for r in records] == [1, 3, 5]
    assert stream.stats["check"].dead_lettered == 3
    assert stream.stats["check"].skipped == 0 and stream.stats["check"].failed == 0
    assert len(stream.failures) == 0  # the branch took them all


class Decide(ErrorHandler):
    async def handle_error(self, error: Exception, item: Any, task_name: str, attempt: int) -> tuple[bool, Any]:
        if item == 1:
            return True, 100  # replaced: not a failure any more
        if item == 2:
            return True, None  # dropped by the handler: a skip, listed in stream.failures
        return False, None  # given up: the branch takes it


def test_an_error_handler_answers_first() -> None:
    records, keep = collecting()

    @single_task(error_handler=Decide())
    def always_fails(n: int) -> int:
        raise ValueError(n)

    stream = always_fails.with_dead_letters(keep)([1, 2, 3])
    assert run(stream) == [100]
    assert [r.item for r in records] == [3]
    assert stream.stats["always_fails"].skipped == 1
    assert [r.item for r in stream.failures] == [2]


# -- batches --------------------------------------------------------------------------------------


@pytest.mark.parametrize("ordered", [True, False])
def test_a_failed_batch_is_dead_lettered_item_by_item(ordered: bool) -> None:
    records, keep = collecting()

    @batch_task(max_size=2)
    def pairs(xs: list[int]) -> list[int]:
        if 3 in xs:
            raise ValueError("has a three")
        return xs

    task = pairs.with_dead_letters(keep)
    stream = task(range(6)) if ordered else task.as_completed(range(6))
    assert sorted(run(stream)) == [0, 1, 4, 5]
    assert [(r.item, r.batch) for r in records] == [(2, (2, 3)), (3, (2, 3))]
    assert records[0].error is records[1].error
    assert stream.stats["pairs"].dead_lettered == 2


# -- pipelines: one branch for all tasks, a task's own wins -----------------------------------------


def test_a_pipeline_branch_covers_every_task_and_a_tasks_own_wins() -> None:
    shared, keep = collecting()
    own, keep_own = collecting()

    @single_task
    def branch_step(n: int) -> int:
        if n == 4:
            raise KeyError(n)
        return n

    pipeline = (parse | no_threes.with_dead_letters(keep_own) | tee(branch_step)).with_dead_letters(keep)
    stream = pipeline(["1", "x", "3", "4", "5"])
    assert run(stream) == [1, 4, 5]
    assert sorted((r.task, r.item) for r in shared) == [("branch_step", 4), ("parse", "x")]
    assert [(r.task, r.item) for r in own] == [("no_threes", 3)]
    (branched,) = [r for r in shared if r.task == "branch_step"]
    assert "tee" in branched.path


def test_tasks_composed_after_with_dead_letters_are_not_covered() -> None:
    records, keep = collecting()
    pipeline = Pipeline.of(parse).with_dead_letters(keep) | no_threes
    with pytest.raises(ValueError, match="three"):
        run(pipeline(["3"]))
    assert records == []


# -- the branch itself ----------------------------------------------------------------------------


def test_a_failure_in_the_branch_fails_the_run_with_the_users_exception() -> None:
    @single_task
    def broken_sink(record: Failed[str]) -> None:
        raise OSError("disk full")

    stream = parse.with_dead_letters(broken_sink)(["1", "x", "2"])
    with pytest.raises(OSError, match="disk full") as caught:
        run(stream)
    assert any("broken_sink" in note for note in caught.value.__notes__)


def test_a_branch_can_be_a_pipeline_and_its_outputs_are_drained() -> None:
    lines: list[str] = []

    @single_task
    def to_line(record: Failed[str]) -> str:
        return f"{record.task}: {record.item}"

    @single_task
    def write(line: str) -> None:
        lines.append(line)

    stream = parse.with_dead_letters(to_line | write)(["x", "1", "y"])
    assert run(stream) == [1]
    assert lines == ["parse: x", "parse: y"]
    assert [row.name for row in stream.stats.stages] == ["parse", "to_line", "write"]
    assert stream.stats["to_line"].items_in == 2


@pytest.mark.parametrize("ordered", [True, False])
def test_a_slow_branch_holds_the_source_back(ordered: bool) -> None:
    """Bounded memory: while the branch is stuck, the failing stage stops pulling."""
    pulled = 0
    release = asyncio.Event()
    taken: list[int] = []

    def numbers() -> Iterator[int]:
        nonlocal pulled
        for n in range(200):
            pulled += 1
            yield n

    @single_task
    def fail_all(n: int) -> int:
        raise ValueError(n)

    @single_task
    async def slow_sink(record: Failed[int]) -> None:
        await release.wait()
        taken.append(record.item)

    async def main() -> None:
        pipeline = fail_all.with_dead_letters(slow_sink)
        stream = pipeline(numbers(), max_in_flight=4) if ordered else pipeline.as_completed(numbers(), max_in_flight=4)
        reader = asyncio.ensure_future(stream.collect())
        for _ in range(50):
            await asyncio.sleep(0)
        assert pulled <= 20, pulled  # stage window + inlet + the branch's own window, not 200
        release.set()
        assert await reader == []

    asyncio.run(main())
    assert sorted(taken) == list(range(200))
    if ordered:
        assert taken == list(range(200))


# -- stream.failures ------------------------------------------------------------------------------


def test_stream_failures_lists_skipped_items_and_the_one_that_stopped_the_run() -> None:
    @single_task(on_error="skip_item")
    def skipping(n: int) -> int:
        if n % 3 == 0:
            raise ValueError(n)
        return n

    stream = skipping(range(7))
    assert stream.failures.total == 0  # before the run
    assert run(stream) == [1, 2, 4, 5]
    assert [r.item for r in stream.failures] == [0, 3, 6]
    assert stream.failures.total == 3 and stream.failures.dropped == 0

    failing = no_threes([1, 3])
    with pytest.raises(ValueError):
        run(failing)
    assert [(r.task, r.item) for r in failing.failures] == [("no_threes", 3)]


def test_failures_keeps_a_bounded_number_of_records_and_counts_the_rest(caplog: pytest.LogCaptureFixture) -> None:
    records, keep = collecting()
    run(parse.with_dead_letters(keep)(["a", "b", "c", "d"]))
    failures = Failures(limit=2)
    with caplog.at_level(logging.WARNING, logger="conveyor"):
        failures.add(records[:3])
        failures.add(records[3:])
    assert list(failures) == records[:2] and failures[1] is records[1]
    assert (len(failures), failures.total, failures.dropped) == (2, 4, 2)
    assert sum("keeps the first 2" in r.getMessage() for r in caplog.records) == 1
    assert "2 more not kept" in repr(failures)


# -- composition ----------------------------------------------------------------------------------


@single_task
def reject_ints(record: Failed[int]) -> None:
    pass


def test_a_branch_that_does_not_take_the_records_is_a_type_error_naming_task_and_branch() -> None:
    with pytest.raises(PipelineTypeError) as caught:
        parse.with_dead_letters(reject_ints)  # type: ignore[arg-type]  # the mistake under test
    message = str(caught.value)
    assert message.startswith("dead-letter branch mismatch: task 'parse'")
    assert "Failed[str]" in message and "'reject_ints'" in message and "Failed[int]" in message


def test_a_pipeline_branch_is_checked_for_every_task() -> None:
    with pytest.raises(PipelineTypeError, match="task 'parse'"):
        (parse | no_threes).with_dead_letters(reject_ints)
    (no_threes | no_threes).with_dead_letters(reject_ints)  # both take int: fine


@single_task
def numbers() -> Iterator[int]:
    yield 1


def test_what_cannot_be_a_dead_letter_branch() -> None:
    records, keep = collecting()
    with pytest.raises(TypeError, match="source"):
        numbers.with_dead_letters(keep)
    with pytest.raises(TypeError, match="takes a task or a pipeline"):
        parse.with_dead_letters(print)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="empty pipeline"):
        parse.with_dead_letters(Pipeline())
    with pytest.raises(TypeError, match="takes no items"):
        parse.with_dead_letters(numbers)  # type: ignore[arg-type]
    inner = no_threes.with_dead_letters(reject_ints)

    @single_task
    def relay(record: Failed[object]) -> int:
        return 1

    with pytest.raises(TypeError, match="of its own"):
        parse.with_dead_letters(relay | inner)


def test_with_dead_letters_keeps_the_task_as_it_was() -> None:
    records, keep = collecting()
    with_branch = parse.with_dead_letters(keep)
    assert parse.dead_letters is None and with_branch.dead_letters is not None
    assert type(with_branch) is type(parse) and with_branch.name == "parse"


# -- views ----------------------------------------------------------------------------------------


def test_the_graph_has_dead_letter_edges_of_their_own_kind() -> None:
    records, keep = collecting()
    pipeline = (parse | fan(no_threes, no_threes)).with_dead_letters(keep)
    graph = pipeline.graph
    dead = [(tail, head, data) for tail, head, data in graph.edges(data=True) if data["kind"] == "dead_letter"]
    assert {head for _, head, _ in dead} == {"dead-0/stage-0"}
    assert {graph.nodes[tail]["task"].name for tail, _, _ in dead} == {"parse", "no_threes"}
    assert len(dead) == 3
    assert str(dead[0][2]["type"]) .endswith("Failed[str]")
    assert graph.nodes["dead-0/stage-0"]["task"].name == "keep"
    assert graph.nodes["dead-0/stage-0"]["dead_letters"] == "keep"
    assert "dead_letters" not in graph.nodes["stage-0"]
    assert not [e for e in graph.in_edges("dead-0/stage-0", data="kind") if e[2] == "items"]
    dot = pipeline.to_dot()
    assert "dead letters: Failed[str]" in dot and "dead letters: Failed[int]" in dot
    outline = pipeline.outline()
    assert "dead letters ~> 'keep' (Failed[str])" in outline and "  dead letters 'keep':" in outline


def test_the_stats_count_dead_letters() -> None:
    records, keep = collecting()
    stream = parse.with_dead_letters(keep)(["x", "1"])
    run(stream)
    assert "dead letters" in stream.stats.table()
    assert stream.stats["parse"].dead_lettered == 1
    assert "dead letters" in stream.stats.rows()[0]


def test_an_async_generator_task_and_as_completed() -> None:
    records, keep = collecting()

    @single_task
    async def expand(n: int) -> AsyncIterator[int]:
        await asyncio.sleep(0)
        if n == 2:
            raise ValueError(n)
        yield n
        yield n * 10

    stream = expand.with_dead_letters(keep).as_completed([1, 2, 3])
    assert sorted(run(stream)) == [1, 3, 10, 30]
    assert [r.item for r in records] == [2]


def test_a_call_that_times_out_is_dead_lettered_with_its_timeout_error() -> None:
    records, keep = collecting()

    @single_task(timeout=0.05)
    async def hangs_on_two(n: int) -> int:
        if n == 2:
            await asyncio.sleep(60)  # cancelled by the timeout long before
        return n

    assert run(hangs_on_two.with_dead_letters(keep)([1, 2, 3])) == [1, 3]
    (record,) = records
    assert record.item == 2 and isinstance(record.error, TimeoutError)


@pytest.mark.parametrize("executor", ["thread", "process"])
def test_failures_of_calls_run_in_an_executor_are_dead_lettered(executor: str) -> None:
    records, keep = collecting()
    task = single_task(executor=executor)(_no_fives)  # type: ignore[call-overload]  # "thread" / "process"
    stream = task.with_dead_letters(keep)(range(8))
    assert run(stream) == [0, 1, 2, 3, 4, 6, 7]
    assert [(r.item, type(r.error).__name__) for r in records] == [(5, "ValueError")]


def _no_fives(n: int) -> int:  # module level: a process pool pickles it by name
    if n == 5:
        raise ValueError("five")
    return n


def test_the_progress_frame_shows_dead_letters_only_where_there_are_some() -> None:
    from conveyor.progress import frame

    records, keep = collecting()
    stream = parse.with_dead_letters(keep)(["x", "1"])
    run(stream)
    lines = frame("p", stream.stats, 1.0, "done", 2)
    counts = [line for line in lines if "in flight" in line]
    assert "dead letters 1" in counts[0] and "dead letters" not in counts[1]


def test_one_sink_given_to_several_tasks_is_one_branch() -> None:
    records, keep = collecting()
    pipeline = parse.with_dead_letters(keep) | no_threes.with_dead_letters(keep)
    stream = pipeline(["x", "3", "4"])
    assert run(stream) == [4]
    assert [row.name for row in stream.stats.stages] == ["parse", "no_threes", "keep"]
    assert stream.stats["keep"].items_in == 2
    assert sorted(node for node in pipeline.graph if str(node).startswith("dead-")) == ["dead-0/stage-0"]
