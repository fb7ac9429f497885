"""executor="process" sends calls to the pool in batches sized from how long calls take:
each call keeps its own result, failure and cancellation, and nothing is lost when a
worker dies in the middle of a batch. A pool that counts what it is sent (a real
ProcessPoolExecutor) shows the batches."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conveyor import single_task
from conveyor.runtime.processes import WorkerTraceback
from tests.helpers import settle
from tests.worker_functions import (
    CarriesALock,
    CountsItsPickling,
    TwoArgError,
    ViaPool,
    die_on_a_thousand,
    double,
    fail_on_odd,
    logged_unevenly,
    pid_of,
    raise_unpicklable,
    register_via_pool,
    scaled,
    slow_from_2000,
    tables_held,
    use_big,
    varied,
    varied_many,
    was_marked,
)

ROOT = Path(__file__).resolve().parent.parent


class CountingPool(ProcessPoolExecutor):
    """A real process pool that records how many calls each submission carries."""

    def __init__(self, workers: int) -> None:
        super().__init__(max_workers=workers)
        self.batches: list[int] = []
        self.calls: set[bytes] = set()  # each call's pickled form: a call a batch had no time for goes again

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.batches.append(len(args[2]))  # (token, table, calls, budget): one list of calls per submit
        self.calls.update(args[2])
        return super().submit(fn, *args, **kwargs)


@pytest.fixture
def pool() -> Iterator[CountingPool]:
    pool = CountingPool(2)
    yield pool
    pool.shutdown()


async def test_short_calls_travel_in_batches_and_each_keeps_its_result(pool: CountingPool) -> None:
    stream = single_task(executor=pool)(double)(range(3_000))
    assert await stream.collect() == [2 * x for x in range(3_000)]
    assert len(pool.calls) == 3_000  # every call sent
    assert len(pool.batches) < 3_000 / 4 and max(pool.batches) > 1
    assert pool.batches[:4] == [1, 1, 1, 1]  # until a call has been timed, one at a time
    assert stream.stats.stages[0].calls == 3_000


@pytest.mark.parametrize("ordered", [True, False])
async def test_in_a_batch_each_call_keeps_its_own_failure(pool: CountingPool, ordered: bool) -> None:
    task = single_task(executor=pool, on_error="skip_item")(fail_on_odd)
    stream = task(range(2_000)) if ordered else task.as_completed(range(2_000))
    out = await stream.collect()
    assert (out if ordered else sorted(out)) == list(range(0, 2_000, 2))
    assert stream.stats.stages[0].skipped == 1_000
    assert max(pool.batches) > 1


async def test_a_task_with_a_timeout_sends_its_calls_one_by_one(pool: CountingPool) -> None:
    # A sibling in a batch would count against a call's time limit.
    stream = single_task(executor=pool, timeout=60)(double)(range(300))
    assert await stream.collect() == [2 * x for x in range(300)]
    assert pool.batches == [1] * 300


async def test_calls_that_turn_slow_are_not_held_in_a_batch_sized_for_quick_ones() -> None:
    # Batches sized from 2,000 quick calls (hundreds each) meet calls of 50 ms: a batch
    # stops after its time, so the first slow result and the close after a break come
    # soon (whole batches of slow calls would take many seconds).
    loop = asyncio.get_running_loop()
    started = loop.time()
    async for x in single_task(executor="process")(slow_from_2000)(range(2_400)):
        if x >= 2_000:
            break
    first_slow = loop.time() - started
    assert not await settle()
    assert loop.time() - started - first_slow < 5.0
    assert first_slow < 10.0


async def test_calls_a_batch_had_no_time_for_run_once_each_and_in_order(tmp_path: Path) -> None:
    log = tmp_path / "calls.log"
    task = single_task(executor="process")(logged_unevenly).with_inputs(log=str(log))
    assert await task(range(300)).collect() == list(range(300))
    assert sorted(int(line) for line in log.read_text().split()) == list(range(300))


async def test_a_failure_carries_the_workers_traceback_as_its_cause() -> None:
    with pytest.raises(ValueError, match="odd 1") as info:
        await single_task(executor="process")(fail_on_odd)([0, 1]).collect()
    cause = info.value.__cause__
    assert isinstance(cause, WorkerTraceback)
    assert "fail_on_odd" in str(cause) and 'raise ValueError(f"odd {x}")' in str(cause)


async def test_an_exception_that_does_not_pickle_comes_back_as_the_pickling_error() -> None:
    with pytest.raises(TypeError, match="pickle") as info:
        await single_task(executor="process", task_name="raiser")(raise_unpicklable)([7]).collect()
    notes = "\n".join(info.value.__notes__)
    assert f"raised {CarriesALock.__name__}: bad 7, which does not pickle" in notes
    assert "raise_unpicklable" in notes  # the worker's traceback of the original
    assert "task 'raiser'" in notes


def test_an_exception_that_cannot_be_rebuilt_comes_back_as_the_error_rebuilding_it() -> None:
    # In a fresh interpreter: once distributed is imported (the Dask tests), tblib's
    # pickling support can rebuild such an exception, and then it comes back as itself.
    script = (
        "import asyncio\n"
        "from conveyor import single_task\n"
        "from tests.worker_functions import raise_two_arg\n"
        "async def main():\n"
        "    try:\n"
        "        await single_task(executor='process')(raise_two_arg)([1]).collect()\n"
        "    except TypeError as exc:\n"
        "        print('\\n'.join(exc.__notes__))\n"
        "asyncio.run(main())\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    notes = done.stdout
    assert f"raised {TwoArgError.__name__}: first and 1, which does not pickle (or cannot be rebuilt" in notes
    assert "raise_two_arg" in notes  # the worker's traceback of the original


async def test_a_pool_that_counts_its_tasks_gets_one_call_per_task() -> None:
    # max_tasks_per_child counts the pool's tasks: batches would put many calls in one process.
    import multiprocessing

    with ProcessPoolExecutor(2, max_tasks_per_child=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        pids = await single_task(executor=pool)(pid_of)(range(12)).collect()
    assert len(set(pids)) == 12  # a fresh process for every call, as the pool promises


async def test_items_go_through_the_reducers_registered_with_multiprocessing() -> None:
    register_via_pool()  # in this process, and so in the forked workers too
    assert await single_task(executor="process")(was_marked)([ViaPool()]).collect() == [True]


async def test_nothing_of_a_run_stays_in_the_workers_of_a_pool_passed_in() -> None:
    with ProcessPoolExecutor(2) as pool:
        task = single_task(executor=pool)(use_big).with_inputs(big=bytes(1_000_000))
        assert await task(range(500)).collect() == list(range(500))
        assert [pool.submit(tables_held).result() for _ in range(6)] == [0] * 6


async def test_a_worker_that_dies_in_a_batch_loses_no_item_silently() -> None:
    # Every item is delivered or counted as skipped; calls made after the pool broke go
    # to a fresh pool. (Which calls the broken pool held depends on timing: the batches
    # in it may reach the end of what was read so far.)
    async def items() -> AsyncIterator[int]:
        for x in range(1_500):
            yield x
        while not stream.stats.stages[0].skipped:  # the pool has broken: its calls failed
            await asyncio.sleep(0.01)
        for x in range(1_500, 2_000):
            yield x

    stream = single_task(executor="process", on_error="skip_item")(die_on_a_thousand)(items())
    out = await stream.collect()
    skipped = stream.stats.stages[0].skipped
    assert 1_000 not in out and out == sorted(out)
    assert len(out) + skipped == 2_000
    assert skipped > 1  # the batches in the broken pool failed together
    assert out[-500:] == list(range(1_500, 2_000))  # the run went on, in a fresh pool
    assert not await settle()


async def test_a_passed_in_pool_that_breaks_fails_the_calls_left() -> None:
    with ProcessPoolExecutor(2) as pool:
        stream = single_task(executor=pool, on_error="skip_item")(die_on_a_thousand)(range(2_000))
        out = await stream.collect()
        assert 1_000 not in out and out == sorted(out)
        assert len(out) + stream.stats.stages[0].skipped == 2_000
    with pytest.raises(BrokenProcessPool):
        await single_task(executor=pool)(double)([1]).collect()


async def test_side_inputs_and_the_function_are_pickled_once_per_run_not_per_call(pool: CountingPool) -> None:
    CountsItsPickling.pickled = 0
    task = single_task(executor=pool)(scaled).with_inputs(by=CountsItsPickling(3))
    assert await task(range(500)).collect() == [3 * x for x in range(500)]
    assert CountsItsPickling.pickled <= 2  # checked when shared, then the session's table once
    assert len(pool.batches) > 1  # while the table travelled with several batches


async def test_breaking_out_sends_no_more_calls(pool: CountingPool) -> None:
    task = single_task(executor=pool)(double)
    async for first in task(range(100_000), max_in_flight=100):
        assert first == 0
        break
    assert not await settle()
    assert len(pool.calls) <= 150  # the window's worth, not the stream


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
async def test_batches_and_the_shared_table_work_in_spawned_workers(method: str) -> None:
    # Workers that start afresh (spawn; forkserver, the default from Python 3.14 on)
    # import what a batch needs by name: the function, the side input, conveyor's runner.
    import multiprocessing

    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context(method)) as pool:
        task = single_task(executor=pool)(scaled).with_inputs(by=CountsItsPickling(5))
        assert await task(range(1_000)).collect() == [5 * x for x in range(1_000)]
        failing = single_task(executor=pool, on_error="skip_item")(fail_on_odd)
        stream = failing(range(1_000))
        assert await stream.collect() == list(range(0, 1_000, 2))
        assert stream.stats.stages[0].skipped == 500


@pytest.fixture(scope="module")
def shared_pool() -> Iterator[ProcessPoolExecutor]:
    pool = ProcessPoolExecutor(2)
    yield pool
    pool.shutdown()


@settings(max_examples=30, deadline=None, database=None, print_blob=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    count=st.integers(0, 600),  # long streams: short ones never fill a batch
    step=st.integers(1, 97),
    generator=st.booleans(),
    ordered=st.booleans(),
    window=st.sampled_from([1, 3, 17, 10_000]),
    limit=st.sampled_from([None, 1, 5]),
)
def test_batched_process_calls_give_what_inline_calls_give(
    shared_pool: ProcessPoolExecutor, count: int, step: int, generator: bool, ordered: bool, window: int,
    limit: int | None,
) -> None:
    # Failures, filtered items and generators mixed, under every bound: the batches
    # change nothing a user sees (outputs, their order, what was skipped).
    fn = varied_many if generator else varied
    items = [(i * step) % 1_000 for i in range(count)]

    async def run(executor: Any) -> tuple[list[Any], int]:
        task = single_task(executor=executor, on_error="skip_item", concurrency_limit=limit)(fn)  # type: ignore[call-overload]
        stream = task(items, max_in_flight=window) if ordered else task.as_completed(items, max_in_flight=window)
        out = await asyncio.wait_for(stream.collect(), timeout=120)
        return out, stream.stats.stages[0].skipped

    inline_out, inline_skipped = asyncio.run(run("inline"))
    out, skipped = asyncio.run(run(shared_pool))
    assert (out if ordered else sorted(out)) == (inline_out if ordered else sorted(inline_out))
    assert skipped == inline_skipped
