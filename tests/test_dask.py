"""``DaskExecutor``: a task's calls on a real Dask cluster started by the tests.

Most tests share one in-process ``LocalCluster(processes=False)`` (its scheduler and
workers run on a thread of their own; each run connects its own asynchronous client
by address). One module-level cluster with worker processes checks pickling for real
and a worker that dies mid-run.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

distributed = pytest.importorskip("distributed")

from distributed import Client, LocalCluster  # noqa: E402

from conveyor import DaskExecutor, ErrorHandler, batch_task, per_worker, single_task  # noqa: E402
from tests.helpers import settle  # noqa: E402
from tests.worker_functions import double, fail_first_time, fail_on_odd, sleepy, times, total  # noqa: E402


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    with LocalCluster(
        processes=False, n_workers=2, threads_per_worker=2, dashboard_address=":0", silence_logs=40,
    ) as made:
        yield made


@pytest.fixture()
def dask(cluster: LocalCluster) -> DaskExecutor:
    return DaskExecutor(cluster.scheduler_address)


async def wait_for(predicate: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.02)
    return bool(predicate())


def where(x: int) -> tuple[int, int]:
    return x, threading.get_ident()


def spread(x: int) -> Iterator[Any]:
    yield x
    yield None  # dropped, as inline
    yield -x


# -- what holds inline holds on Dask ---------------------------------------------------------


async def test_results_match_inline_in_order(dask: DaskExecutor) -> None:
    inline = single_task(double) | single_task(times).with_inputs(factor=3)
    on_dask = single_task(executor=dask)(double) | single_task(executor=dask)(times).with_inputs(factor=3)
    assert await on_dask(range(40)).collect() == await inline(range(40)).collect()


async def test_calls_run_on_the_workers_not_on_the_loop(dask: DaskExecutor) -> None:
    outputs = await single_task(executor=dask)(where)(range(8)).collect()
    assert [x for x, _ in outputs] == list(range(8))
    assert threading.get_ident() not in {thread for _, thread in outputs}


async def test_as_completed_gives_every_result(dask: DaskExecutor) -> None:
    delays = [1.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    task = single_task(executor=dask, concurrency_limit=6)(sleepy)
    arrived = await task.as_completed(delays).collect()
    assert sorted(arrived) == sorted(delays)
    assert arrived[0] == 0.0  # not held back by the slow first item (4 worker threads, 1 s apart)


async def test_a_generator_runs_whole_on_the_worker(dask: DaskExecutor) -> None:
    assert await single_task(executor=dask)(spread)(range(3)).collect() == [0, 0, 1, -1, 2, -2]


async def test_batches_go_whole_to_one_call(dask: DaskExecutor) -> None:
    task = batch_task(max_size=4, executor=dask)(total)
    assert await task(range(10)).collect() == [6] * 4 + [22] * 4 + [17] * 2


async def test_a_failure_keeps_its_type_and_notes(dask: DaskExecutor) -> None:
    task = single_task(executor=dask, task_name="odd")(fail_on_odd)
    with pytest.raises(ValueError, match="odd 1") as info:
        await task(range(3)).collect()  # one failing item: which fails first is not a race
    assert any("task 'odd'" in note and "item 1" in note for note in info.value.__notes__)


async def test_skip_item_goes_on(dask: DaskExecutor) -> None:
    stream = single_task(executor=dask, on_error="skip_item")(fail_on_odd)(range(6))
    assert await stream.collect() == [0, 2, 4]
    assert stream.stats.stages[0].skipped == 3


class Replace(ErrorHandler):
    async def handle_error(self, error: Exception, item: Any, task_name: str, attempt: int) -> tuple[bool, Any]:
        return True, -item


async def test_an_error_handler_replaces_the_result(dask: DaskExecutor) -> None:
    task = single_task(executor=dask, error_handler=Replace())(fail_on_odd)
    assert await task(range(4)).collect() == [0, -1, 2, -3]


async def test_every_retry_is_a_fresh_dask_key(cluster: LocalCluster, dask: DaskExecutor, tmp_path: Path) -> None:
    keys: list[str] = []
    plugin = _KeyRecorder(keys)
    cluster.scheduler.add_plugin(plugin, name="record-keys")
    try:
        task = single_task(executor=dask, retry_attempts=2, retry_delay=0.01, task_name="flaky")(fail_first_time)
        stream = task.with_inputs(marks=str(tmp_path))(range(5))
        assert await stream.collect() == [0, 1, 2, 3, 4]
    finally:
        cluster.scheduler.remove_plugin(name="record-keys")
    assert stream.stats.stages[0].retries == 5
    calls = [key for key in keys if key.startswith("flaky-")]
    assert len(calls) == 10 and len(set(calls)) == 10  # 5 failed attempts + 5 retries, no key reused


class _KeyRecorder(distributed.diagnostics.plugin.SchedulerPlugin):  # type: ignore[misc]
    def __init__(self, keys: list[str]) -> None:
        self.keys = keys

    def update_graph(self, scheduler: Any, *, keys: Any = (), **kwargs: Any) -> None:
        self.keys.extend(str(key) for key in keys)


async def test_stats_count_calls_and_items(dask: DaskExecutor) -> None:
    stream = single_task(executor=dask)(double)(range(20))
    await stream.collect()
    row = stream.stats.stages[0]
    assert (row.calls, row.items_in, row.items_out, row.finished_calls) == (20, 20, 20, 20)


# -- bounds, side inputs, cancellation -----------------------------------------------------------

#: Scheduler states of a task submitted but not finished (finished ones wait in "memory").
UNFINISHED = {"waiting", "queued", "no-worker", "processing"}


async def test_concurrency_limit_bounds_what_is_on_the_cluster(cluster: LocalCluster, dask: DaskExecutor) -> None:
    seen: list[int] = []
    done = asyncio.Event()

    async def watch() -> None:
        while not done.is_set():
            tasks = list(cluster.scheduler.tasks.values())  # (another thread's dict: copied at once)
            seen.append(sum(1 for t in tasks if str(t.key).startswith("bounded-") and t.state in UNFINISHED))
            await asyncio.sleep(0.005)

    watcher = asyncio.create_task(watch())
    task = single_task(executor=dask, concurrency_limit=3, task_name="bounded")(sleepy)
    await task([0.02] * 30).collect()
    done.set()
    await watcher
    assert 1 <= max(seen) <= 3  # submitted and not finished: never more than the limit


async def test_a_side_input_goes_to_the_cluster_once_per_run(cluster: LocalCluster, dask: DaskExecutor) -> None:
    big = {"factor": 3, "payload": "x" * 10_000}

    def scale(x: int, config: dict[str, Any]) -> int:
        return x * config["factor"]

    keys: list[str] = []
    cluster.scheduler.add_plugin(_KeyRecorder(keys), name="record-inputs")
    try:
        task = single_task(executor=dask, task_name="scale")(scale).with_inputs(config=big)
        assert await task(range(30)).collect() == [3 * x for x in range(30)]
        assert await task(range(5)).collect() == [3 * x for x in range(5)]
    finally:
        cluster.scheduler.remove_plugin(name="record-inputs")
    sent = [key for key in keys if key.startswith("conveyor-input-scale-config-")]
    assert len(sent) == 2 and len(set(sent)) == 2  # once per run, not once per call
    assert len([key for key in keys if key.startswith("scale-")]) == 35  # the calls, which refer to it


async def test_closing_the_stream_cancels_outstanding_futures(cluster: LocalCluster, dask: DaskExecutor) -> None:
    task = single_task(executor=dask, concurrency_limit=8, task_name="slow")(sleepy)
    async with task([0.0] + [0.3] * 40) as stream:
        async for _ in stream:
            break
    assert not await settle()
    # Queued calls never ran; the scheduler forgets every call of the run.
    assert await wait_for(lambda: not [k for k in list(cluster.scheduler.tasks) if str(k).startswith("slow-")])


async def test_a_failure_cancels_the_other_calls_and_leaves_nothing(cluster: LocalCluster, dask: DaskExecutor) -> None:
    def fail_at_three(x: float) -> float:
        if x == 3:
            raise KeyError("three")
        time.sleep(0.2)
        return x

    task = single_task(executor=dask, concurrency_limit=6, task_name="fails")(fail_at_three)
    with pytest.raises(KeyError):
        await task([0.0, 1.0, 2.0, 3.0, 4.0, 5.0] * 3).collect()
    assert not await settle()
    assert await wait_for(lambda: not [k for k in list(cluster.scheduler.tasks) if str(k).startswith("fails-")])


async def test_a_call_past_its_timeout_is_cancelled_on_the_cluster(cluster: LocalCluster, dask: DaskExecutor) -> None:
    def processing() -> int:
        return sum(1 for t in list(cluster.scheduler.tasks.values()) if str(t.key).startswith("late-") and t.state == "processing")

    task = single_task(executor=dask, timeout=1.0, concurrency_limit=1, on_error="skip_item", task_name="late")(sleepy)
    seen: list[int] = []
    async with task([3.0, 0.5, 0.5, 0.5]) as stream:
        async for _ in stream:
            seen.append(processing())  # the timed-out call (still sleeping on its worker) is not among them
    assert seen == [0, 0, 0]  # (without the cancellation: [1, 1, 1])
    assert stream.stats.stages[0].skipped == 1
    assert not await settle()
    assert await wait_for(lambda: not [k for k in list(cluster.scheduler.tasks) if str(k).startswith("late-")])


async def test_a_client_you_pass_stays_open(cluster: LocalCluster) -> None:
    async with Client(cluster.scheduler_address, asynchronous=True) as client:
        task = single_task(executor=DaskExecutor(client))(double)
        assert await task(range(5)).collect() == [0, 2, 4, 6, 8]
        assert client.status == "running"
        assert await client.submit(double, 4, pure=False) == 8


async def test_a_synchronous_client_is_reached_through_its_scheduler(cluster: LocalCluster) -> None:
    with Client(cluster) as client:  # its own loop, on another thread
        task = single_task(executor=DaskExecutor(client))(double)
        assert await task(range(5)).collect() == [0, 2, 4, 6, 8]
        assert client.status == "running"


async def test_an_unpicklable_side_input_fails_before_any_item(dask: DaskExecutor) -> None:
    calls: list[int] = []

    def use(x: int, lock: Any) -> int:
        calls.append(x)
        return x

    task = single_task(executor=dask, task_name="locked")(use).with_inputs(lock=threading.Lock())
    with pytest.raises(TypeError) as info:
        await task(range(3)).collect()
    assert any("task 'locked'" in note and "side input 'lock'" in note for note in info.value.__notes__)
    assert calls == []


def test_the_executor_is_shown(dask: DaskExecutor) -> None:
    task = single_task(executor=dask)(double)
    assert "executor=dask" in repr(task) or "executor=dask" in task.describe()


def test_bad_arguments_are_clear() -> None:
    with pytest.raises(TypeError, match="distributed.Client or a scheduler address"):
        DaskExecutor(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="empty"):
        DaskExecutor("")


# -- per-worker values -------------------------------------------------------------------------


class Model:
    made: list[Model] = []

    def __init__(self) -> None:
        self.closed = False
        self.worker = distributed.get_worker().address
        Model.made.append(self)

    def close(self) -> None:
        self.closed = True


def predict(x: int, model: Model) -> str:
    return model.worker


async def test_a_per_worker_value_is_made_once_per_dask_worker_and_closed(dask: DaskExecutor) -> None:
    Model.made.clear()
    task = single_task(executor=dask, concurrency_limit=4)(predict).with_inputs(model=per_worker(Model))
    workers = await task(range(40)).collect()
    assert 1 <= len(Model.made) <= 2 and len({m.worker for m in Model.made}) == len(Model.made)
    assert set(workers) == {m.worker for m in Model.made}
    assert all(model.closed for model in Model.made)


# -- worker processes --------------------------------------------------------------------------


def die_on(x: int, victim: int) -> int:
    if x == victim:
        os._exit(3)  # the worker process dies at once, as a crash would
    time.sleep(0.02)
    return x


@pytest.fixture(scope="module")
def process_cluster() -> Iterator[LocalCluster]:
    import dask

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):  # a death is final at once
        with LocalCluster(
            processes=True, n_workers=2, threads_per_worker=1, dashboard_address=":0", silence_logs=50,
        ) as made:
            yield made


async def test_a_dead_worker_fails_that_call_by_policy(process_cluster: LocalCluster) -> None:
    dask = DaskExecutor(process_cluster.scheduler_address)
    task = single_task(executor=dask, concurrency_limit=2, on_error="skip_item", task_name="crashy")(die_on)
    stream = task.with_inputs(victim=5)(range(12))
    outputs = await asyncio.wait_for(stream.collect(), 120)
    skipped = stream.stats.stages[0].skipped
    assert 5 not in outputs and set(outputs) <= set(range(12))
    assert skipped >= 1 and len(outputs) + skipped == 12  # the dead worker's call(s) skipped, the rest done


async def test_a_dead_worker_fails_the_run_by_default(process_cluster: LocalCluster) -> None:
    dask = DaskExecutor(process_cluster.scheduler_address)
    task = single_task(executor=dask, concurrency_limit=2, task_name="crash")(die_on)
    with pytest.raises(distributed.KilledWorker) as info:
        await asyncio.wait_for(task.with_inputs(victim=2)(range(8)).collect(), 120)
    assert any("Dask workers running this call of task 'crash' died" in note for note in info.value.__notes__)
    assert not await settle()


def test_the_executor_is_importable_without_importing_dask() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from conveyor import DaskExecutor, single_task\n"
        "task = single_task(executor=DaskExecutor('tcp://127.0.0.1:1'))(lambda x: x)\n"
        "print([m for m in ('distributed', 'dask') if m in sys.modules])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def die_once(x: int, marks: str) -> int:
    mark = Path(marks) / f"died-{x}"
    if x == 3 and not mark.exists():
        mark.touch()
        os._exit(3)  # only the first attempt dies
    return x


async def test_a_dead_worker_is_retried_by_policy_with_a_fresh_key(process_cluster: LocalCluster, tmp_path: Path) -> None:
    dask = DaskExecutor(process_cluster.scheduler_address)
    task = single_task(executor=dask, concurrency_limit=2, retry_attempts=2, retry_delay=0.05, task_name="again")(die_once)
    stream = task.with_inputs(marks=str(tmp_path))(range(6))
    assert await asyncio.wait_for(stream.collect(), 120) == [0, 1, 2, 3, 4, 5]
    assert stream.stats.stages[0].retries >= 1
    assert not await settle()
