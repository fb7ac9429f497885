"""executor="process": pickling checked before any item, per-call pickling failures,
workers that die, and runs that end cleanly."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import pytest

from conveyor import single_task
from tests.helpers import settle


class Client:
    def __init__(self) -> None:
        self.session = {"lock": threading.Lock()}


def use_client(x: int, client: Any) -> int:
    return x


def ident(x: Any) -> Any:
    return x


def make_lock(x: int) -> Any:
    return threading.Lock() if x == 2 else x


def die_on(x: int) -> int:
    if x == 3:
        os._exit(1)  # the worker process dies without a word
    return x


async def test_an_unpicklable_side_input_fails_the_run_before_any_item() -> None:
    task = single_task(executor="process", task_name="send")(use_client).with_inputs(client=Client())
    stream = task(range(3))
    with pytest.raises(TypeError, match="pickle") as info:
        await stream.collect()
    note = "\n".join(info.value.__notes__)
    assert "task 'send'" in note and "side input 'client'" in note
    assert "client.session['lock'] (lock)" in note
    assert stream.stats.stages[0].calls == 0


async def test_a_lambda_fails_the_run_naming_the_task() -> None:
    task = single_task(executor="process", task_name="anon")(lambda x: x)
    with pytest.raises(Exception, match="pickle") as info:
        await task(range(3)).collect()
    note = "\n".join(info.value.__notes__)
    assert "task 'anon'" in note and "its function" in note and "module level" in note


async def test_an_item_that_does_not_pickle_fails_its_call_and_on_error_applies() -> None:
    task = single_task(executor="process", on_error="skip_item")(ident)
    stream = task([1, threading.Lock(), 3])
    assert await stream.collect() == [1, 3]
    assert stream.stats.stages[0].skipped == 1


async def test_an_item_that_does_not_pickle_says_so() -> None:
    with pytest.raises(TypeError, match="pickle") as info:
        await single_task(executor="process")(ident)([threading.Lock()]).collect()
    assert any("this item does not pickle" in note for note in info.value.__notes__)


async def test_a_result_that_does_not_pickle_fails_its_call_with_a_note() -> None:
    with pytest.raises(TypeError, match="pickle") as info:
        await single_task(executor="process")(make_lock)(range(4)).collect()
    assert any("result does not pickle" in note for note in info.value.__notes__)
    stream = single_task(executor="process", on_error="skip_item")(make_lock)(range(4))
    assert await stream.collect() == [0, 1, 3]


async def test_a_worker_that_dies_fails_its_call_and_later_calls_get_a_fresh_pool() -> None:
    task = single_task(executor="process", concurrency_limit=1, on_error="skip_item")(die_on)
    stream = task(range(6))
    assert await stream.collect() == [0, 1, 2, 4, 5]
    assert stream.stats.stages[0].skipped == 1
    assert not await settle()


async def test_a_worker_that_dies_fails_the_run_by_default() -> None:
    with pytest.raises(BrokenProcessPool) as info:
        await single_task(executor="process", task_name="dies")(die_on)(range(6)).collect()
    assert any("worker process of task 'dies' died" in note for note in info.value.__notes__)


def test_asyncio_run_exits_cleanly_after_breaking_out() -> None:
    script = (
        "import asyncio, time\n"
        "from conveyor import single_task\n"
        "def slow(x):\n"
        "    time.sleep(0.05)\n"
        "    return x\n"
        "async def main():\n"
        "    for executor in ('thread', 'process'):\n"
        "        async for x in single_task(executor=executor)(slow)(range(100)):\n"
        "            break\n"
        "asyncio.run(main())\n"
        "print('done')\n"
    )
    done = subprocess.run([sys.executable, "-W", "error", "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "done"
    assert not done.stderr


def sleep_on(x: int) -> int:
    if x == 1:
        import time

        time.sleep(2.0)  # a process call is not killed: it runs to its end
    return x


async def test_a_process_call_past_its_timeout_fails_with_a_timeout_error() -> None:
    with ProcessPoolExecutor(max_workers=2) as pool:
        list(pool.map(ident, range(4)))  # workers started: the quick calls meet the limit
        slow = single_task(executor=pool, timeout=0.5, on_error="skip_item", concurrency_limit=2)(sleep_on)
        stream = slow(range(4))
        assert await stream.collect() == [0, 2, 3]
        assert stream.stats.stages[0].skipped == 1
    assert not await settle()
