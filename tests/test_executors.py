"""``executor=``: every executor keeps what holds inline (order, as_completed, batching,
retries, on_error, error handlers, notes, stats, nothing pending), with real pools.

The functions are plain module-level functions made into tasks per test, so that
worker processes find them by name.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from conveyor import ErrorHandler, batch_task, single_task
from tests.helpers import settle
from tests.worker_functions import double, fail_first_time, fail_on_odd, sleepy, times, total

EXECUTORS = ["thread", "process", "user-threads", "user-processes"]
WHERE = contextvars.ContextVar("WHERE", default="unset")


@pytest.fixture(scope="module")
def user_pools() -> Iterator[dict[str, Executor]]:
    pools: dict[str, Executor] = {
        "user-threads": ThreadPoolExecutor(4), "user-processes": ProcessPoolExecutor(2),
    }
    yield pools
    for pool in pools.values():
        pool.shutdown()


@pytest.fixture(params=EXECUTORS)
def executor(request: pytest.FixtureRequest, user_pools: dict[str, Executor]) -> Any:
    name: str = request.param
    return user_pools.get(name, name)


def spread(x: int) -> Iterator[Any]:
    yield x
    yield None  # dropped, as inline
    yield (x, os.getpid(), threading.get_ident())


async def test_results_match_inline_in_order(executor: Any) -> None:
    inline = single_task(double) | single_task(times).with_inputs(factor=3)
    offloaded = single_task(executor=executor)(double) | single_task(executor=executor)(times).with_inputs(factor=3)
    assert await offloaded(range(50)).collect() == await inline(range(50)).collect()


async def test_as_completed_gives_every_result(executor: Any) -> None:
    task = single_task(executor=executor, concurrency_limit=3)(sleepy)
    delays = [0.05, 0.0, 0.02, 0.0, 0.01, 0.0]
    assert sorted(await task.as_completed(delays).collect()) == sorted(delays)


async def test_a_generator_runs_whole_in_one_worker(executor: Any) -> None:
    outputs = await single_task(executor=executor)(spread)(range(4)).collect()
    assert outputs[0::2] == [0, 1, 2, 3]
    for x, pid, thread in outputs[1::2]:
        assert isinstance(x, int)
        assert thread != threading.get_ident() or pid != os.getpid()  # not on the loop's thread


async def test_batches_go_whole_to_one_call(executor: Any) -> None:
    task = batch_task(max_size=4, executor=executor)(total)
    assert await task(range(10)).collect() == [6] * 4 + [22] * 4 + [17] * 2


async def test_a_failure_keeps_its_type_and_notes(executor: Any) -> None:
    task = single_task(executor=executor, task_name="odd")(fail_on_odd)
    with pytest.raises(ValueError, match="odd [13]") as info:  # whichever failed first
        await task(range(4)).collect()
    assert any("task 'odd'" in note and "item" in note for note in info.value.__notes__)


async def test_skip_item_goes_on(executor: Any) -> None:
    task = single_task(executor=executor, on_error="skip_item")(fail_on_odd)
    stream = task(range(6))
    assert await stream.collect() == [0, 2, 4]
    assert stream.stats.stages[0].skipped == 3


async def test_retries_call_again_in_the_executor(executor: Any, tmp_path: Path) -> None:
    task = single_task(executor=executor, retry_attempts=2, retry_delay=0.01)(fail_first_time)
    stream = task.with_inputs(marks=str(tmp_path))(range(5))
    assert await stream.collect() == [0, 1, 2, 3, 4]
    assert stream.stats.stages[0].retries == 5


class Replace(ErrorHandler):
    async def handle_error(self, error: Exception, item: Any, task_name: str, attempt: int) -> tuple[bool, Any]:
        return True, -item


async def test_an_error_handler_replaces_the_result(executor: Any) -> None:
    task = single_task(executor=executor, error_handler=Replace())(fail_on_odd)
    assert await task(range(4)).collect() == [0, -1, 2, -3]


async def test_stats_count_calls_and_items(executor: Any) -> None:
    stream = single_task(executor=executor)(double)(range(20))
    await stream.collect()
    row = stream.stats.stages[0]
    assert (row.calls, row.items_in, row.items_out, row.finished_calls) == (20, 20, 20, 20)


async def test_breaking_out_leaves_nothing_pending(executor: Any) -> None:
    task = single_task(executor=executor, concurrency_limit=2)(sleepy)
    async with task([0.0] + [0.05] * 20) as stream:
        async for _ in stream:
            break
    assert not await settle()


async def test_the_context_is_copied_into_threads() -> None:
    def where(x: int) -> str:
        return f"{WHERE.get()} {threading.current_thread().name}"

    WHERE.set("caller")
    outputs = await single_task(executor="thread", task_name="where")(where)(range(3)).collect()
    assert all(out.startswith("caller conveyor-where") for out in outputs)


async def test_a_thread_pool_is_sized_by_concurrency_limit() -> None:
    seen: set[str] = set()

    def name(x: int) -> int:
        seen.add(threading.current_thread().name)
        time.sleep(0.01)
        return x

    await single_task(executor="thread", concurrency_limit=3)(name)(range(30)).collect()
    assert 1 <= len(seen) <= 3


async def test_pools_the_run_made_are_shut_down() -> None:
    def ident(x: int) -> int:
        return x

    await single_task(executor="thread", task_name="shut")(ident)(range(10)).collect()
    for _ in range(200):  # the idle workers exit once told to
        if not [t for t in threading.enumerate() if t.name.startswith("conveyor-shut")]:
            break
        await asyncio.sleep(0.01)
    assert not [t for t in threading.enumerate() if t.name.startswith("conveyor-shut")]


async def test_a_users_executor_is_left_running() -> None:
    with ThreadPoolExecutor(2) as pool:
        assert await single_task(executor=pool)(double)(range(5)).collect() == [0, 2, 4, 6, 8]
        assert pool.submit(double, 4).result() == 8  # not shut down by the run


async def test_closing_waits_for_running_thread_calls_and_cancels_queued_ones() -> None:
    finished: list[float] = []
    started: list[float] = []

    def work(x: float) -> float:
        started.append(x)
        time.sleep(x)
        finished.append(x)
        return x

    task = single_task(executor="thread", concurrency_limit=2)(work)
    stream = task.as_completed([0.0] + [0.3] * 2 + [0.3] * 40)
    assert await anext(stream) == 0.0
    await stream.aclose()
    assert len(finished) == len(started)  # every call that started has ended
    assert len(started) < 43  # the queued ones never ran
    assert not await settle()


def test_an_async_function_cannot_take_a_thread() -> None:
    async def fetch(x: int) -> int:
        return x

    with pytest.raises(TypeError, match="task 'fetch'.*already runs on the event loop"):
        single_task(executor="thread")(fetch)


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        ("threads", ValueError, "did you mean 'thread'"),
        (3, TypeError, "executor must be 'inline', 'thread', 'process'"),
        (ThreadPoolExecutor, TypeError, "an instance, got the class ThreadPoolExecutor"),
    ],
)
def test_a_bad_executor_is_refused_at_decoration(value: object, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        single_task(executor=value)(double)  # type: ignore[call-overload]


def test_the_executor_is_shown_in_the_repr() -> None:
    assert "executor=thread" in repr(single_task(executor="thread")(double))
    assert "executor=process" in repr(batch_task(executor="process")(total))
    assert "executor=" not in repr(single_task(double))


def test_the_outline_and_the_diagram_show_the_executor() -> None:
    from conveyor.render import outline

    pipeline = single_task(executor="thread", task_name="fetch")(double) | single_task(task_name="keep")(double)
    text = outline(pipeline)
    [fetch] = [line for line in text.splitlines() if "1. fetch" in line]
    [keep] = [line for line in text.splitlines() if "2. keep" in line]
    assert "executor=thread" in fetch and "executor" not in keep
    assert "executor=thread" in pipeline.to_dot()


def numbers(*, count: int) -> Iterator[int]:
    yield from range(count)


def fail_on_big_batch(xs: list[int]) -> list[int]:
    if max(xs) > 5:
        raise ValueError(f"too big: {xs}")
    return xs


async def test_a_source_generator_runs_whole_in_the_worker(executor: Any) -> None:
    source = single_task(executor=executor)(numbers).with_inputs(count=5)
    assert await source().collect() == [0, 1, 2, 3, 4]


async def test_skip_batch_skips_the_failing_batch(executor: Any) -> None:
    task = batch_task(max_size=3, on_error="skip_batch", executor=executor)(fail_on_big_batch)
    stream = task(range(9))
    assert await stream.collect() == [0, 1, 2, 3, 4, 5]
    assert stream.stats.stages[0].skipped == 3


async def test_progress_works_with_an_executor(executor: Any) -> None:
    task = single_task(executor=executor)(double)
    assert await task(range(10), progress=True).collect() == [2 * x for x in range(10)]
