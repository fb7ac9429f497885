"""``per_worker(factory)``: made once per run inline, once per thread, once per worker
process (Dask workers: tests/test_dask.py), closed at the end of the run."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from conveyor import Pipeline, SideInputMarkerError, per_worker, single_task
from tests.helpers import settle


class Session:
    """Something expensive and unpicklable-in-spirit: one per worker."""

    made: list[Session] = []

    def __init__(self) -> None:
        self.closed = False
        self.thread = threading.get_ident()
        self.pid = os.getpid()
        Session.made.append(self)

    def close(self) -> None:
        self.closed = True


class AsyncSession(Session):
    def close(self) -> None:
        raise AssertionError("aclose() is preferred when both exist")

    async def aclose(self) -> None:
        self.closed = True


@pytest.fixture(autouse=True)
def _fresh() -> None:
    Session.made.clear()


def use(x: int, session: Session) -> tuple[int, int, int]:
    time.sleep(0.002)
    return x, id(session), session.thread


async def test_inline_makes_it_once_per_run_and_closes_it() -> None:
    task = single_task(use).with_inputs(session=per_worker(Session))
    first = await task(range(5)).collect()
    assert len(Session.made) == 1 and Session.made[0].closed
    assert {ident for _, ident, _ in first} == {id(Session.made[0])}
    await task(range(5)).collect()
    assert len(Session.made) == 2 and all(s.closed for s in Session.made)  # a new one per run


async def test_aclose_is_awaited_at_the_end() -> None:
    task = single_task(use).with_inputs(session=per_worker(AsyncSession))
    await task(range(3)).collect()
    assert len(Session.made) == 1 and Session.made[0].closed


async def test_it_is_closed_when_the_run_fails_or_is_closed_early() -> None:
    def boom(x: int, session: Session) -> int:
        raise ValueError("boom")

    with pytest.raises(ValueError):
        await single_task(boom).with_inputs(session=per_worker(Session))(range(3)).collect()
    assert len(Session.made) == 1 and Session.made[0].closed

    async with single_task(use).with_inputs(session=per_worker(Session))(range(100)) as stream:
        async for _ in stream:
            break
    assert len(Session.made) == 2 and Session.made[1].closed
    assert not await settle()


async def test_one_per_thread_of_a_thread_pool() -> None:
    task = single_task(use, executor="thread", concurrency_limit=3).with_inputs(session=per_worker(Session))
    outputs = await task(range(60)).collect()
    assert [x for x, _, _ in outputs] == list(range(60))
    assert 1 <= len(Session.made) <= 3
    assert len({s.thread for s in Session.made}) == len(Session.made)  # each thread its own
    for _, ident, thread in outputs:  # a call gets the value its own thread made
        assert next(s for s in Session.made if id(s) == ident).thread == thread
    assert all(s.closed for s in Session.made)


def record(x: int, marker: Marker) -> tuple[int, int]:
    time.sleep(0.005)
    return x, marker.pid


class Marker:
    """Made in a worker process; closing writes a file, so the test can see it happened there."""

    folder = ""

    def __init__(self, folder: str) -> None:
        self.pid = os.getpid()
        self.folder = folder
        (Path(folder) / f"made-{self.pid}").touch()

    def close(self) -> None:
        (Path(self.folder) / f"closed-{self.pid}").touch()


async def test_one_per_worker_process_closed_when_the_pool_shuts_down(tmp_path: Path) -> None:
    from functools import partial

    task = single_task(record, executor="process", concurrency_limit=2)
    stream = task.with_inputs(marker=per_worker(partial(Marker, str(tmp_path))))(range(40))
    outputs = await stream.collect()
    assert [x for x, _ in outputs] == list(range(40))
    pids = {pid for _, pid in outputs}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2
    made = {p.name for p in tmp_path.glob("made-*")}
    assert made == {f"made-{pid}" for pid in pids}  # once per process, not per call
    # The run shut its pool down and waited for the workers: each closed its value as
    # it exited, before the run returned.
    assert {p.name for p in tmp_path.glob("closed-*")} == {f"closed-{pid}" for pid in pids}


class Broken(Session):
    def __init__(self) -> None:
        raise ConnectionError("no route to the model server")


async def test_a_failing_factory_fails_with_a_note_naming_the_side_input() -> None:
    task = single_task(use, task_name="scorer").with_inputs(session=per_worker(Broken))
    with pytest.raises(ConnectionError) as info:
        await task(range(3)).collect()
    assert any("side input 'session'" in n and "per_worker(Broken)" in n and "'scorer'" in n for n in info.value.__notes__)


async def test_a_failing_factory_in_a_thread_fails_that_call_by_policy() -> None:
    task = single_task(use, executor="thread", on_error="skip_item").with_inputs(session=per_worker(Broken))
    stream = task(range(4))
    assert await stream.collect() == []
    assert stream.stats.stages[0].skipped == 4


def make_text() -> Any:
    return "not a session"


async def test_a_made_value_of_the_wrong_type_is_a_clear_error() -> None:
    task = single_task(use, task_name="typed").with_inputs(session=per_worker(make_text))
    with pytest.raises(TypeError, match="'typed'.*side input 'session'.*made str"):
        await task(range(2)).collect()


def make_number() -> int:
    return 3


def test_the_factorys_return_type_is_checked_when_binding() -> None:
    with pytest.raises(TypeError, match=r"side input 'session' expects .*Session.* factory make_number makes int"):
        single_task(use, task_name="bound").with_inputs(session=per_worker(make_number))


def test_per_worker_takes_a_plain_function() -> None:
    async def load() -> Session:
        return Session()

    with pytest.raises(TypeError, match="async function.*plain function"):
        per_worker(load)
    with pytest.raises(TypeError, match="takes a function"):
        per_worker(42)  # type: ignore[arg-type]


def test_the_marker_is_only_for_with_inputs() -> None:
    marker: Any = per_worker(Session)
    with pytest.raises(SideInputMarkerError, match=r"per_worker\(Session\)"):
        marker.close()
    assert "per_worker(Session)" in repr(marker)


def test_the_side_input_is_shown() -> None:
    task = single_task(use).with_inputs(session=per_worker(Session))
    assert task.side_inputs["session"].label == "per worker Session"
    assert "side input session: Session <- per worker Session" in Pipeline.of(task).outline()


async def test_for_processes_the_factory_must_pickle_and_is_checked_first() -> None:
    import pickle

    task = single_task(use, executor="process", task_name="pickled").with_inputs(session=per_worker(lambda: Session()))
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)) as info:
        await task(range(3)).collect()
    assert any("task 'pickled'" in n and "side input 'session'" in n for n in info.value.__notes__)
    assert Session.made == []  # nothing was made: the run stopped before any item
