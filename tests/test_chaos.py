"""Chaos suite (issue 15): random pipelines under random failures and interruptions.

A chain is 1-4 stage specs (:class:`StageSpec`): sync and async functions, sync and
async generators, batch tasks of each shape with random sizes and ``max_wait``,
random small delays, transient failures (that succeed on a retry) and final
failures, every ``on_error``, retries, error handlers, ``concurrency_limit``, dead-letter
branches (``test_random_chains_with_dead_letters``), run with
a random ``max_in_flight`` in input order or as completed, and consumed in a random
way (to the end, or interrupted: break, ``aclose()``, the consumer cancelled, a
timeout).

Items are *paths*: input item ``i`` is ``(i,)`` and a stage turns an item ``p`` into
``p + (j,)`` for its j-th output. Paths are unique, so "exactly once" is checkable,
and input order is the lexicographic order of paths. Which calls fail, how often,
and what an error handler decides are functions of the call's argument (a hash), so
the :func:`model` can compute what the run must deliver. Batch composition depends
on timing (``max_wait``, as-completed arrival order), so the model takes the batches
the run actually formed, after checking they are a legal grouping.

Every example runs in a fresh event loop under :func:`tests.chaos_helpers.run_clean`
(no loop errors, unraisable exceptions or warnings) and checks right after the
stream is closed that no task is pending and every user ``finally`` has run.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import subprocess
import sys
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import assume, event, given, note
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from conveyor import ErrorHandler, Failed, batch_task, single_task
from tests.chaos_helpers import Finallies, frozen_heap, pending_tasks, run_clean
from tests.helpers import settle

Path = tuple[int, ...]

SINGLE_KINDS = ("func", "coro", "gen", "agen")
BATCH_KINDS = ("bfunc", "bcoro", "bgen", "bagen")
ASYNC_KINDS = {"coro", "agen", "bcoro", "bagen"}
FANOUT_KINDS = {"gen", "agen", "bgen", "bagen"}
LEAK = 77  # a failing generator attempt first yields p + (LEAK,): it must never be delivered
REPLACED = 90  # an error handler's replacement for p is p + (REPLACED,)
HANG = 5.0  # seconds: an example still running by then hangs (they take milliseconds)


def _examples(weight: float) -> hsettings:
    """This test's share of the profile's example count (CONVEYOR_CHAOS_EXAMPLES overrides it)."""
    base = int(os.environ.get("CONVEYOR_CHAOS_EXAMPLES", "0")) or hsettings.default.max_examples
    return hsettings(max_examples=max(1, int(base * weight)))


@pytest.fixture(autouse=True, scope="module")
def _frozen_heap() -> Iterator[None]:
    with frozen_heap():
        yield


@pytest.fixture(autouse=True)
def _quiet_conveyor_logger() -> Iterator[None]:
    logger = logging.getLogger("conveyor")
    old = logger.level
    logger.setLevel(logging.CRITICAL + 1)  # retries and skips log at WARNING: thousands of lines
    yield
    logger.setLevel(old)


class Boom(ValueError):
    """What a failing call raises (flavor "boom")."""


class HandlerError(RuntimeError):
    """What an error handler in mode "raise" raises."""


class DataError(LookupError):
    """What the input data raises after ``data_fail_at`` items."""


def _h(seed: int, *parts: Any) -> int:
    return zlib.crc32(repr((seed, *parts)).encode())


# -- specs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageSpec:
    kind: str
    fanout: int  # generator kinds: values per item (per element for batches)
    drop: int | None  # outputs whose hash % drop == 0 are None (dropped by conveyor)
    fail: int | None  # calls whose hash % fail == 0 fail ...
    fail_times: int  # ... on their first fail_times attempts, then succeed
    flavor: str  # what a failing attempt raises: "boom", "cancel" (CancelledError), "stop"
    attempts: int  # retry_attempts
    retry_delay: float
    on_error: str  # "fail" or "skip"
    handler: str | None  # None, "drop", "replace", "defer", "raise", or "mixed" (by hash)
    concurrency: int | None
    delays: tuple[float | None, ...]  # per call by hash; None: an async call does not suspend
    min_size: int
    max_size: int | None
    max_wait: float | None

    @property
    def is_batch(self) -> bool:
        return self.kind in BATCH_KINDS


@dataclass(frozen=True)
class Example:
    chain: tuple[StageSpec, ...]
    n: int  # input items
    data: str  # "list", "iter", "aiter", "gen", "agen", "source_gen", "source_agen"
    data_fail_at: int | None  # the data (or source) raises DataError after this many items
    data_delay: bool  # async data / source: sleep(0) between items
    ordered: bool
    window: int | None  # max_in_flight
    consume: str  # "collect", "iterate", "with", "break", "aclose", "cancel", "timeout", "drop"
    k: int  # interruption after k items
    timeout: float
    seed: int
    dead_letters: bool = False  # every task sends its final failures to one dead-letter branch


FLAVORS_DEFAULT = ("boom", "boom", "boom", "cancel", "stop")

#: Combinations that hit bugs still open, kept out of the main properties (each has its
#: own xfail test below). Remove an entry once its bug is fixed.
AVOID: set[str] = set()  # e.g. "sync-cancel-retry": a retried sync call raising CancelledError hung the run


@st.composite
def stage_specs(
    draw: st.DrawFn,
    flavors: tuple[str, ...] = FLAVORS_DEFAULT,
    avoid: frozenset[str] | set[str] = AVOID,
    on_errors: tuple[str, ...] = ("skip", "skip", "fail"),
) -> StageSpec:
    kind = draw(st.sampled_from(SINGLE_KINDS + BATCH_KINDS))
    fail = draw(st.sampled_from([None, None, 2, 3, 5]))
    min_size = draw(st.integers(1, 3))
    max_size = draw(st.sampled_from([None, 1, 2, 3, 4, 6]))
    if max_size is not None and max_size < min_size:
        max_size = min_size
    flavor = draw(st.sampled_from(flavors))
    attempts = draw(st.sampled_from([1, 1, 2, 3]))
    if flavor == "cancel" and kind not in ASYNC_KINDS and attempts > 1 and "sync-cancel-retry" in avoid:
        flavor = "boom"
    return StageSpec(
        kind=kind,
        fanout=draw(st.integers(0, 2)) if kind in FANOUT_KINDS else 1,
        drop=draw(st.sampled_from([None, None, 2, 4])),
        fail=fail,
        fail_times=draw(st.integers(1, 3)),
        flavor=flavor,
        attempts=attempts,
        retry_delay=draw(st.sampled_from([0.0, 0.0001])),
        on_error=draw(st.sampled_from(on_errors)),
        handler=draw(st.sampled_from([None, None, None, "drop", "replace", "defer", "raise", "mixed"])),
        concurrency=draw(st.sampled_from([None, None, 1, 2, 3])),
        delays=tuple(draw(st.lists(st.sampled_from([None, None, 0.0, 0.0, 0.0005, 0.002]), min_size=1, max_size=3))),
        min_size=min_size,
        max_size=max_size,
        max_wait=draw(st.sampled_from([None, None, 0.0005, 0.002])),
    )


PLAIN_DATA = ("list", "iter", "aiter")
GENERATOR_DATA = ("gen", "agen")
SOURCE_DATA = ("source_gen", "source_agen")
CONSUME = ("collect", "iterate", "with", "break", "aclose", "cancel", "timeout", "drop")


@st.composite
def examples(
    draw: st.DrawFn,
    data_kinds: tuple[str, ...] = PLAIN_DATA,
    flavors: tuple[str, ...] = FLAVORS_DEFAULT,
    consume: tuple[str, ...] = CONSUME,
    max_stages: int = 4,
    avoid: frozenset[str] | set[str] = AVOID,
    on_errors: tuple[str, ...] = ("skip", "skip", "fail"),
    dead_letters: bool = False,
) -> Example:
    chain = tuple(draw(st.lists(stage_specs(flavors, avoid, on_errors), min_size=1, max_size=max_stages)))
    n = draw(st.integers(0, 12))
    data = draw(st.sampled_from(data_kinds))
    fails = data != "list" and draw(st.integers(0, 5)) == 0
    data_fail_at = draw(st.integers(0, n)) if fails else None
    return Example(
        chain=chain,
        n=n,
        data=data,
        data_fail_at=data_fail_at,
        data_delay=draw(st.booleans()),
        ordered=draw(st.booleans()),
        window=draw(st.sampled_from([None, None, 1, 2, 3, 5])),
        consume=draw(st.sampled_from(consume)),
        k=draw(st.integers(0, 5)),
        timeout=draw(st.sampled_from([0.0005, 0.002, 0.01])),
        seed=draw(st.integers(0, 2**16)),
        dead_letters=dead_letters,
    )


# -- what a stage does with one call's argument (shared by the tasks and the model) ----------


def call_key(spec: StageSpec, arg: Any) -> Any:
    return tuple(arg) if spec.is_batch else arg


def elements(spec: StageSpec, key: Any) -> list[Path]:
    return list(key) if spec.is_batch else [key]


def fail_times(ex: Example, index: int, spec: StageSpec, key: Any) -> int:
    """How many attempts of this call fail before one succeeds (a batch: its worst element)."""
    if spec.fail is None:
        return 0
    return max((spec.fail_times for e in elements(spec, key) if _h(ex.seed, index, "fail", e) % spec.fail == 0), default=0)


def handler_mode(ex: Example, index: int, spec: StageSpec, key: Any) -> str | None:
    if spec.handler != "mixed":
        return spec.handler
    return ("drop", "replace", "defer", "raise")[_h(ex.seed, index, "handler", key) % 4]


def raw_values(ex: Example, index: int, spec: StageSpec, key: Any) -> list[Path | None]:
    """What a successful call returns (a list for batches) or yields, None included."""
    values: list[Path | None] = []
    for e in elements(spec, key):
        for j in range(spec.fanout):
            child = e + (j,)
            dropped = spec.drop is not None and _h(ex.seed, index, "drop", child) % spec.drop == 0
            values.append(None if dropped else child)
    return values


def replacement(spec: StageSpec, key: Any) -> Any:
    """The error handler's replacement value; a generator task's stands for ONE item."""
    if spec.kind in ("bfunc", "bcoro"):
        return [e + (REPLACED,) for e in key]
    if spec.is_batch:
        return key[0] + (REPLACED,)
    return key + (REPLACED,)


def replacement_outputs(spec: StageSpec, key: Any) -> list[Path]:
    value = replacement(spec, key)
    return value if isinstance(value, list) else [value]


def delay_of(ex: Example, index: int, spec: StageSpec, key: Any) -> float | None:
    return spec.delays[_h(ex.seed, index, "delay", key) % len(spec.delays)]


# -- the run's side: tasks that record what happens ---------------------------------------------


@dataclass
class StageLog:
    first_calls: dict[Any, int] = field(default_factory=dict)  # key -> order of first call
    attempts: Counter[Any] = field(default_factory=Counter)
    raised: dict[tuple[Any, int], BaseException] = field(default_factory=dict)  # (key, attempt) -> exc
    handled: Counter[Any] = field(default_factory=Counter)
    handler_raised: dict[Any, BaseException] = field(default_factory=dict)
    running: int = 0
    peak: int = 0


@dataclass
class World:
    ex: Example
    logs: list[StageLog]
    finallies: Finallies = field(default_factory=Finallies)
    errors: list[str] = field(default_factory=list)  # wrong arguments seen inside user code
    data_error: DataError | None = None
    data_read: int = 0
    dead: list[tuple[str, Path]] = field(default_factory=list)  # (task, item) of each dead letter


def stage_name(index: int, spec: StageSpec) -> str:
    return f"s{index}_{spec.kind}"


class ChaosHandler(ErrorHandler):
    def __init__(self, world: World, index: int, spec: StageSpec) -> None:
        self.world, self.index, self.spec = world, index, spec

    async def handle_error(self, error: Exception, item: Any, task_name: str, attempt: int) -> tuple[bool, Any]:
        world, index, spec = self.world, self.index, self.spec
        key = call_key(spec, item)
        log = world.logs[index]
        log.handled[key] += 1
        if attempt != spec.attempts or task_name != stage_name(index, spec):
            world.errors.append(f"handler of {task_name} got attempt {attempt} for {key}")
        if _h(world.ex.seed, index, "hsleep", key) % 2:
            await asyncio.sleep(0)
        mode = handler_mode(world.ex, index, spec, key)
        if mode == "drop":
            return True, None
        if mode == "replace":
            return True, replacement(spec, key)
        if mode == "defer":
            return False, None
        exc = HandlerError(f"handler of {task_name} gives up on {key}")
        log.handler_raised[key] = exc
        raise exc


def build_task(world: World, index: int, spec: StageSpec) -> Any:
    ex, log = world.ex, world.logs[index]
    name = stage_name(index, spec)

    def enter(arg: Any) -> tuple[Any, int]:
        key = call_key(spec, arg)
        if spec.is_batch and not isinstance(arg, list):
            world.errors.append(f"{name} got a batch that is not a list: {arg!r}")
        log.first_calls.setdefault(key, len(log.first_calls))
        log.attempts[key] += 1
        return key, log.attempts[key]

    def failing(key: Any, attempt: int) -> bool:
        return attempt <= fail_times(ex, index, spec, key)

    def error(key: Any, attempt: int, *, is_async: bool, is_gen: bool) -> BaseException:
        exc: BaseException
        if spec.flavor == "cancel":
            exc = asyncio.CancelledError(f"{name} raises CancelledError on {key}")
        elif spec.flavor == "stop":
            exc = StopAsyncIteration(f"{name} on {key}") if is_async else StopIteration(f"{name} on {key}")
        else:
            exc = Boom(f"{name} fails on {key} (attempt {attempt})")
        log.raised[(key, attempt)] = exc
        return exc

    def result_of(key: Any) -> Any:
        values = raw_values(ex, index, spec, key)
        if spec.kind in ("bfunc", "bcoro"):
            return values
        return values[0]

    class Running:  # an async call's body: concurrency bookkeeping and its finally
        def __init__(self, key: Any) -> None:
            self.key = key

        def __enter__(self) -> None:
            log.running += 1
            log.peak = max(log.peak, log.running)
            self.token = world.finallies.enter(f"{name} call on {self.key}")

        def __exit__(self, *exc_info: Any) -> None:
            log.running -= 1
            world.finallies.exit(self.token)

    async def pause(key: Any) -> None:
        delay = delay_of(ex, index, spec, key)
        if delay is not None:
            await asyncio.sleep(delay)

    fn: Any
    if spec.kind in ("func", "bfunc"):
        def fn(arg):  # type: ignore[no-untyped-def]
            key, attempt = enter(arg)
            if failing(key, attempt):
                raise error(key, attempt, is_async=False, is_gen=False)
            return result_of(key)
    elif spec.kind in ("coro", "bcoro"):
        async def fn(arg):  # type: ignore[no-untyped-def]
            key, attempt = enter(arg)
            with Running(key):
                await pause(key)
                if failing(key, attempt):
                    raise error(key, attempt, is_async=True, is_gen=False)
                if _h(ex.seed, index, "late", key) % 3 == 0:
                    await asyncio.sleep(0)
                return result_of(key)
    elif spec.kind in ("gen", "bgen"):
        def fn(arg):  # type: ignore[no-untyped-def]
            key, attempt = enter(arg)
            token = world.finallies.enter(f"{name} generator on {key}")
            try:
                if failing(key, attempt):
                    yield elements(spec, key)[0] + (LEAK,)
                    raise error(key, attempt, is_async=False, is_gen=True)
                yield from raw_values(ex, index, spec, key)
            finally:
                world.finallies.exit(token)
    else:  # agen, bagen
        async def fn(arg):  # type: ignore[no-untyped-def]
            key, attempt = enter(arg)
            with Running(key):
                await pause(key)
                if failing(key, attempt):
                    yield elements(spec, key)[0] + (LEAK,)
                    await asyncio.sleep(0)
                    raise error(key, attempt, is_async=True, is_gen=True)
                for value in raw_values(ex, index, spec, key):
                    yield value
                    if value is not None and _h(ex.seed, index, "late", value) % 3 == 0:
                        await asyncio.sleep(0)

    fn.__name__ = name
    options: dict[str, Any] = dict(
        task_name=name,
        concurrency_limit=spec.concurrency,
        retry_attempts=spec.attempts,
        retry_delay=spec.retry_delay,
        retry_max_delay=0.001,
        error_handler=ChaosHandler(world, index, spec) if spec.handler is not None else None,
    )
    if spec.is_batch:
        on_error = "skip_batch" if spec.on_error == "skip" else "fail"
        return batch_task(min_size=spec.min_size, max_size=spec.max_size, max_wait=spec.max_wait, on_error=on_error, **options)(fn)
    return single_task(on_error="skip_item" if spec.on_error == "skip" else "fail", **options)(fn)


def build_data(world: World) -> tuple[Any, Any]:
    """(the data to call the pipeline with, a source task or None)."""
    ex = world.ex
    stop = ex.n if ex.data_fail_at is None else ex.data_fail_at

    def data_error() -> DataError:
        world.data_error = DataError(f"the data breaks after {stop} items")
        return world.data_error

    def item(i: int) -> Path:
        world.data_read += 1
        return (i,)

    if ex.data == "list":
        return [(i,) for i in range(ex.n)], None
    if ex.data == "iter":
        class Data:
            def __init__(self) -> None:
                self.i = 0

            def __iter__(self) -> Data:
                return self

            def __next__(self) -> Path:
                if self.i == stop:
                    if ex.data_fail_at is not None:
                        raise data_error()
                    raise StopIteration
                self.i += 1
                return item(self.i - 1)

        return Data(), None
    if ex.data == "aiter":
        class AData:
            def __init__(self) -> None:
                self.i = 0

            def __aiter__(self) -> AData:
                return self

            async def __anext__(self) -> Path:
                if ex.data_delay:
                    await asyncio.sleep(0)
                if self.i == stop:
                    if ex.data_fail_at is not None:
                        raise data_error()
                    raise StopAsyncIteration
                self.i += 1
                return item(self.i - 1)

        return AData(), None

    def gen() -> Iterator[Path]:
        token = world.finallies.enter("the data generator")
        try:
            for i in range(stop):
                yield item(i)
            if ex.data_fail_at is not None:
                raise data_error()
        finally:
            world.finallies.exit(token)

    async def agen() -> AsyncIterator[Path]:
        token = world.finallies.enter("the data async generator")
        try:
            for i in range(stop):
                if ex.data_delay:
                    await asyncio.sleep(0)
                yield item(i)
            if ex.data_fail_at is not None:
                raise data_error()
        finally:
            world.finallies.exit(token)

    if ex.data == "gen":
        return gen(), None
    if ex.data == "agen":
        return agen(), None

    if ex.data == "source_gen":
        def source() -> Iterator[Path]:
            yield from gen()
    else:
        async def source() -> AsyncIterator[Path]:  # type: ignore[misc]
            # aclosing: closing the source closes the generator it reads, here and now
            # (left to the garbage collector, the loop would close it in a task of its own).
            async with contextlib.aclosing(agen()) as inner:
                async for x in inner:
                    yield x
    source.__name__ = "source"
    return None, single_task(task_name="source")(source)


# -- the model ------------------------------------------------------------------------------------


@dataclass
class StageModel:
    inputs: list[Path]
    calls: list[Any] = field(default_factory=list)
    attempts: dict[Any, int] = field(default_factory=dict)
    outputs: list[Path] = field(default_factory=list)
    retries: int = 0
    skipped: int = 0
    handled: set[Any] = field(default_factory=set)
    fatal: list[Any] = field(default_factory=list)  # keys whose final failure stops the run
    dead: list[Path] = field(default_factory=list)  # items sent to the dead-letter branch
    unobserved: list[Path] = field(default_factory=list)  # batch stage: items in no observed batch


@dataclass
class Model:
    data_items: list[Path]
    stages: list[StageModel]
    data_fatal: bool

    @property
    def outputs(self) -> list[Path]:
        return self.stages[-1].outputs if self.stages else self.data_items

    @property
    def fatal(self) -> bool:
        return self.data_fatal or any(s.fatal for s in self.stages)

    def cuts(self, chain: tuple[StageSpec, ...]) -> list[Path]:
        """In input order, no output at or after a fatal call's first element is delivered."""
        return [min(key) if spec.is_batch else key for spec, s in zip(chain, self.stages) for key in s.fatal]


def observed_batches(spec: StageSpec, log: StageLog, inputs: list[Path]) -> tuple[list[tuple[Path, ...]], list[Path]]:
    """The batches the run formed, in input order, and the inputs in none of them."""
    position = {p: i for i, p in enumerate(inputs)}
    batches = sorted(log.first_calls, key=lambda b: min(position.get(p, -1) for p in b))
    seen = {p for b in batches for p in b}
    return batches, [p for p in inputs if p not in seen]


def model(world: World) -> Model:
    ex = world.ex
    stop = ex.n if ex.data_fail_at is None else ex.data_fail_at
    items = [(i,) for i in range(stop)]
    result = Model(items, [], data_fatal=ex.data_fail_at is not None)
    for index, spec in enumerate(ex.chain):
        stage = StageModel(inputs=items)
        if spec.is_batch:
            batches, stage.unobserved = observed_batches(spec, world.logs[index], items)
            calls: list[Any] = batches + [(p,) for p in stage.unobserved]
        else:
            calls = list(items)
        for key in calls:
            t, attempts = fail_times(ex, index, spec, key), spec.attempts
            stage.calls.append(key)
            if t < attempts:
                stage.attempts[key] = t + 1
                stage.retries += t
                stage.outputs.extend(v for v in raw_values(ex, index, spec, key) if v is not None)
                continue
            stage.attempts[key] = attempts
            stage.retries += attempts - 1
            mode = None
            if spec.handler is not None:
                stage.handled.add(key)
                mode = handler_mode(ex, index, spec, key)
            if mode == "drop":
                stage.skipped += len(elements(spec, key))
            elif mode == "replace":
                stage.outputs.extend(replacement_outputs(spec, key))
            elif mode == "raise":  # a handler's own failure fails the run, branch or not
                stage.fatal.append(key)
            elif ex.dead_letters:  # the branch takes it, whatever on_error says
                stage.dead.extend(elements(spec, key))
            elif spec.on_error == "fail":
                stage.fatal.append(key)
            else:
                stage.skipped += len(elements(spec, key))
        result.stages.append(stage)
        items = stage.outputs
    return result


# -- consuming -------------------------------------------------------------------------------------


@dataclass
class Outcome:
    received: list[Path] | None  # None: not known (a timeout around collect())
    error: BaseException | None
    interrupted: bool  # the consumer stopped the run before its end


async def consume(world: World, stream: Any) -> Outcome:
    """Consume as the example says; returns at the point where every guarantee holds."""
    ex = world.ex
    got: list[Path] = []
    how = ex.consume
    try:
        if how == "collect":
            return Outcome(await stream.collect(), None, False)
        if how == "iterate":
            try:
                async for x in stream:
                    got.append(x)
            finally:
                await stream.aclose()
            return Outcome(got, None, False)
        if how == "with":
            async with stream:
                async for x in stream:
                    got.append(x)
            return Outcome(got, None, False)
        if how == "break":
            interrupted = False
            async with stream:
                async for x in stream:
                    got.append(x)
                    if len(got) >= ex.k:
                        interrupted = True
                        break
            return Outcome(got, None, interrupted)
        if how == "aclose":
            interrupted = True
            try:
                for _ in range(ex.k):
                    got.append(await anext(stream))
            except StopAsyncIteration:
                interrupted = False
            finally:
                await stream.aclose()
            return Outcome(got, None, interrupted)
        if how == "timeout":
            try:
                return Outcome(await asyncio.wait_for(stream.collect(), ex.timeout), None, False)
            except TimeoutError:
                return Outcome(None, None, True)
        if how == "cancel":
            finished = False

            async def consumer() -> None:
                nonlocal finished
                async with stream:
                    async for x in stream:
                        got.append(x)
                finished = True

            task = asyncio.create_task(consumer())
            while not task.done() and len(got) < ex.k:
                await asyncio.sleep(0)
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
            return Outcome(got, None, not finished)
        assert how == "drop"
        interrupted = False
        async for x in stream:
            got.append(x)
            if len(got) >= ex.k:
                interrupted = True
                break
        return Outcome(got, None, interrupted)
    except Exception as exc:  # the run's failure, delivered to the consumer
        return Outcome(None if how in ("collect", "timeout") else got, exc, False)


# -- checking -----------------------------------------------------------------------------------------


def expected_error(world: World, m: Model, error: BaseException) -> str | None:
    """Why ``error`` is a legal failure of this run (None: it is not)."""
    ex = world.ex
    if m.data_fatal and error is world.data_error:
        return "data"
    for index, (spec, stage) in enumerate(zip(ex.chain, m.stages)):
        log = world.logs[index]
        for key in stage.fatal:
            if spec.handler is not None and handler_mode(ex, index, spec, key) == "raise":
                if error is log.handler_raised.get(key):
                    return "handler"
                continue
            raised = log.raised.get((key, spec.attempts))
            if raised is None:
                continue
            if error is raised:
                return f"stage {index}"
            if spec.flavor == "cancel" and isinstance(error, RuntimeError) and "raised CancelledError" in str(error) \
                    and repr(stage_name(index, spec)) in str(error):
                return f"stage {index}"
            if spec.flavor == "stop" and isinstance(error, RuntimeError) and error.__cause__ is raised:
                return f"stage {index}"
    return None


def check_batches(spec: StageSpec, index: int, log: StageLog, stage: StageModel, *, complete: bool, ordered: bool) -> None:
    where = stage_name(index, spec)
    inputs = set(stage.inputs)
    seen: set[Path] = set()
    for batch in log.first_calls:
        assert batch, f"{where}: an empty batch"
        assert spec.max_size is None or len(batch) <= spec.max_size, f"{where}: batch {batch} over max_size"
        assert not (set(batch) & seen), f"{where}: an item in two batches {batch}"
        assert set(batch) <= inputs, f"{where}: batch {batch} holds items the model does not have: {set(batch) - inputs}"
        if ordered:
            assert list(batch) == sorted(batch), f"{where}: batch {batch} not in input order"
        seen.update(batch)
    if complete:
        assert not stage.unobserved, f"{where}: items in no batch: {stage.unobserved}"
        small = [b for b in log.first_calls if len(b) < (spec.max_size if spec.max_wait is None and spec.max_size else spec.min_size)]
        assert len(small) <= 1, f"{where}: more than one short batch (only the remainder may be short): {small}"
        if ordered:
            flat = [p for b in sorted(log.first_calls, key=lambda b: b[0]) for p in b]
            assert flat == stage.inputs, f"{where}: batches are not consecutive runs of the input"


def check(world: World, m: Model, outcome: Outcome, run_stats: Any) -> None:
    ex = world.ex
    assert not world.errors, world.errors
    offset = 1 if ex.data in SOURCE_DATA else 0
    assert len(run_stats.stages) == len(ex.chain) + offset + ex.dead_letters  # the branch's row comes last
    stats = run_stats.stages[: len(ex.chain) + offset]

    # The error the consumer got, if any, is the original exception of a final failure.
    if outcome.error is not None:
        why = expected_error(world, m, outcome.error)
        assert why is not None, f"unexpected error {outcome.error!r} (model fatal: {m.fatal})"
        event(f"failed by {why.split()[0]}")
        if why.startswith("stage"):
            index = int(why.split()[1])
            notes = getattr(outcome.error, "__notes__", [])
            assert any(repr(stage_name(index, ex.chain[index])) in n for n in notes), notes
            assert stats[index + offset].failed == 1
    complete = outcome.error is None and not outcome.interrupted
    if complete:
        assert not m.fatal, "a final failure with on_error='fail' should have stopped the run"

    # Delivered exactly once, nothing invented, input order kept.
    received = outcome.received
    want = m.outputs
    if received is not None:
        assert len(set(received)) == len(received), f"an item delivered twice: {received}"
        assert run_stats.delivered == len(received) or ex.consume == "drop"
        if complete:
            if ex.ordered:
                assert received == want
            else:
                assert sorted(received) == sorted(want)
        else:
            assert set(received) <= set(want), f"delivered items the model does not have: {set(received) - set(want)}"
            if ex.ordered:
                assert received == want[: len(received)], f"not a prefix of the ordered outputs: {received} vs {want}"
                for cut in m.cuts(ex.chain):
                    late = [r for r in received if r[: len(cut)] >= cut]
                    assert not late, f"delivered {late} from at or after the failed call at {cut}"
    else:
        assert run_stats.delivered <= (stats[-1].items_out if stats else 0)

    # The calls and the figures.
    if offset:
        src = stats[0]
        assert (src.items_in, src.retries, src.skipped) == (0, 0, 0) and src.calls <= 1
        if complete:
            assert src.calls == 1 and src.items_out == len(m.data_items)
        assert src.items_out <= len(m.data_items) and world.data_read >= src.items_out
    upstream_out = stats[0].items_out if offset else None
    failed_total = 0
    for index, (spec, stage, log) in enumerate(zip(ex.chain, m.stages, world.logs)):
        where = stage_name(index, spec)
        s = stats[index + offset]
        failed_total += s.failed
        assert spec.concurrency is None or log.peak <= spec.concurrency, f"{where}: {log.peak} calls at once"
        if spec.is_batch:
            check_batches(spec, index, log, stage, complete=complete, ordered=ex.ordered)
        for key, n in log.attempts.items():
            assert key in stage.attempts, f"{where}: called with {key}, which the model never gives it"
            assert n <= stage.attempts[key], f"{where}: {key} tried {n} times, at most {stage.attempts[key]} expected"
        assert set(log.handled) <= stage.handled and all(n == 1 for n in log.handled.values()), (where, log.handled)
        if complete:
            assert dict(log.attempts) == stage.attempts, f"{where}: attempts {dict(log.attempts)} vs model {stage.attempts}"
            assert set(log.handled) == stage.handled
            figures = (s.items_in, s.items_out, s.calls, s.retries, s.skipped, s.failed, s.finished_calls, s.dead_lettered)
            model_figures = (len(stage.inputs), len(stage.outputs), len(stage.calls), stage.retries, stage.skipped, 0,
                             len(stage.calls), len(stage.dead))
            assert figures == model_figures, f"{where}: stats (in, out, calls, retries, skipped, failed, finished, dead) {figures} vs model {model_figures}"
        else:
            assert s.finished_calls <= s.calls
            assert s.items_in <= len(stage.inputs)
            assert s.items_out <= len(stage.outputs)
            assert s.skipped + s.dead_lettered <= s.items_in
            assert s.retries <= s.calls * (spec.attempts - 1)
            assert s.failed <= 1
            if upstream_out is not None:
                assert s.items_in <= upstream_out, f"{where}: took {s.items_in} items, upstream gave {upstream_out}"
        upstream_out = s.items_out
    assert failed_total <= 1

    # Dead letters: each exactly once, each a final failure of the model, all of them at the end.
    if ex.dead_letters:
        want_dead = sorted((stage_name(i, spec), p) for i, (spec, st_) in enumerate(zip(ex.chain, m.stages)) for p in st_.dead)
        event("dead letters: some" if world.dead else "dead letters: none")
        assert len(set(world.dead)) == len(world.dead), f"an item dead-lettered twice: {world.dead}"
        assert set(world.dead) <= set(want_dead), f"dead letters the model does not have: {set(world.dead) - set(want_dead)}"
        if complete:
            assert sorted(world.dead) == want_dead


async def run_example(world: World) -> tuple[Model, Outcome, Any]:
    ex = world.ex
    before = pending_tasks()
    data, source = build_data(world)
    tasks = [build_task(world, i, spec) for i, spec in enumerate(ex.chain)]
    if ex.dead_letters:

        @single_task
        def keep(record: Failed[Any]) -> None:
            world.dead.append((record.task, record.item))

        tasks = [task.with_dead_letters(keep) for task in tasks]
    pipeline = source if source is not None else tasks[0]
    for task in tasks if source is not None else tasks[1:]:
        pipeline = pipeline | task
    call = pipeline if ex.ordered else pipeline.as_completed
    args = () if source is not None else (data,)
    stream = call(*args, max_in_flight=ex.window)
    outcome = await consume(world, stream)
    run_stats = stream.stats
    del stream
    if ex.consume == "drop":  # no guarantee point: the dropped stream stops its run soon
        gc.collect()
        await settle(exclude=before)
        gc.collect()
        await settle(exclude=before)
    left = pending_tasks() - before
    assert not left, f"tasks still pending after the stream was closed: {left}"
    world.finallies.assert_all_ran("when the stream was closed")
    return model(world), outcome, run_stats


def run_and_check(ex: Example) -> None:
    note(repr(ex))
    world = World(ex, [StageLog() for _ in ex.chain])

    async def main() -> tuple[Model, Outcome, Any]:
        return await asyncio.wait_for(run_example(world), HANG)

    m, outcome, run_stats = run_clean(main)
    event(f"consume={ex.consume}, interrupted={outcome.interrupted}, error={type(outcome.error).__name__}")
    check(world, m, outcome, run_stats)


# -- properties -----------------------------------------------------------------------------------------


ALL_DATA = PLAIN_DATA + GENERATOR_DATA + SOURCE_DATA


@_examples(8)
@given(ex=examples(data_kinds=ALL_DATA))
def test_random_chains(ex: Example) -> None:
    """Every kind of data, stage shape, failure, policy and way of consuming or
    interrupting the stream."""
    run_and_check(ex)


@_examples(3)
@given(ex=examples(data_kinds=ALL_DATA, consume=("collect", "iterate", "with")))
def test_random_chains_to_the_end(ex: Example) -> None:
    """The same, always consumed to the end (or to the run's failure): exact figures."""
    run_and_check(ex)


@_examples(3)
@given(ex=examples(data_kinds=ALL_DATA, dead_letters=True))
def test_random_chains_with_dead_letters(ex: Example) -> None:
    """Every task with a dead-letter branch: final failures go there instead of failing
    the run or being skipped (an error handler still answers first), each exactly once."""
    run_and_check(ex)


@_examples(3)
@given(ex=examples(data_kinds=GENERATOR_DATA))
def test_random_chains_on_generator_data(ex: Example) -> None:
    """Sync and async generators as data: their finally has run once the stream is closed."""
    run_and_check(ex)


@_examples(3)
@given(ex=examples(data_kinds=SOURCE_DATA))
def test_random_chains_from_a_source_generator(ex: Example) -> None:
    """A source task (sync or async generator) starts the chain."""
    run_and_check(ex)


@_examples(2)
@given(ex=examples(flavors=("stop",), consume=("collect", "iterate", "with"), on_errors=("fail", "skip")))
def test_random_chains_whose_calls_raise_stop_iteration(ex: Example) -> None:
    """StopIteration / StopAsyncIteration raised by a call is a failure like any other."""
    run_and_check(ex)


# -- BaseExceptions wherever user code runs -------------------------------------------------------------


class Abort(BaseException):
    """A user's own BaseException."""


BASE_KINDS = ("KeyboardInterrupt", "SystemExit", "Abort", "CancelledError")
PLACES = (
    "func", "coro-eager", "coro-late", "gen", "agen", "gen-finally", "agen-finally", "batch",
    "retry", "handler", "side-input", "data-iter", "data-aiter", "data-gen-finally", "data-agen-finally",
    "source-gen", "source-agen",
)


def make_base(kind: str) -> BaseException:
    return {
        "KeyboardInterrupt": KeyboardInterrupt,
        "SystemExit": SystemExit,
        "Abort": Abort,
        "CancelledError": asyncio.CancelledError,
    }[kind]("raised by user code")


class RaisingHandler(ErrorHandler):
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    async def handle_error(self, error: Exception, item: Any, task_name: str, attempt: int) -> tuple[bool, Any]:
        await asyncio.sleep(0)
        raise self.exc


def base_exception_pipeline(place: str, exc: BaseException, finallies: Finallies) -> tuple[Any, tuple[Any, ...]]:
    """A small chain (async stage | the place | sync stage) raising ``exc`` at ``place``
    on item 3; returns (pipeline, call arguments)."""
    trigger = 3

    @single_task(task_name="first")
    async def first(x: int) -> int:
        with Tracked(finallies, f"first on {x}"):
            await asyncio.sleep(0.0005 * (x % 3))
            return x

    @single_task(task_name="last")
    def last(x: int) -> int:
        return x

    def tracked_gen(n: int, raise_at: int | None, raise_in_finally: bool) -> Iterator[int]:
        token = finallies.enter("data generator")
        try:
            for i in range(n):
                if i == raise_at:
                    raise exc
                yield i
        finally:
            finallies.exit(token)
            if raise_in_finally:
                raise exc

    async def tracked_agen(n: int, raise_at: int | None, raise_in_finally: bool) -> AsyncIterator[int]:
        token = finallies.enter("data async generator")
        try:
            for i in range(n):
                await asyncio.sleep(0)
                if i == raise_at:
                    raise exc
                yield i
        finally:
            finallies.exit(token)
            if raise_in_finally:
                raise exc

    middle: Any
    data: Any = range(10)
    if place == "func":
        @single_task
        def middle(x: int) -> int:
            if x == trigger:
                raise exc
            return x
    elif place in ("coro-eager", "coro-late"):
        @single_task
        async def middle(x: int) -> int:
            with Tracked(finallies, f"middle on {x}"):
                if place == "coro-late":
                    await asyncio.sleep(0.0005)
                if x == trigger:
                    raise exc
                return x
    elif place in ("gen", "gen-finally"):
        @single_task
        def middle(x: int) -> Iterator[int]:
            token = finallies.enter(f"middle generator on {x}")
            try:
                if x == trigger and place == "gen":
                    raise exc
                yield x
            finally:
                finallies.exit(token)
                if x == trigger and place == "gen-finally":
                    raise exc
    elif place in ("agen", "agen-finally"):
        @single_task
        async def middle(x: int) -> AsyncIterator[int]:
            token = finallies.enter(f"middle async generator on {x}")
            try:
                await asyncio.sleep(0)
                if x == trigger and place == "agen":
                    raise exc
                yield x
            finally:
                finallies.exit(token)
                if x == trigger and place == "agen-finally":
                    raise exc
    elif place == "batch":
        @batch_task(max_size=2)
        async def middle(xs: list[int]) -> list[int]:
            await asyncio.sleep(0)
            if trigger in xs:
                raise exc
            return xs
    elif place == "retry":
        tries: Counter[int] = Counter()

        @single_task(retry_attempts=3, retry_delay=0.0001)
        async def middle(x: int) -> int:
            tries[x] += 1
            await asyncio.sleep(0)
            if x == trigger:
                if tries[x] == 1:
                    raise Boom("transient")
                raise exc
            return x
    elif place == "handler":
        @single_task(error_handler=RaisingHandler(exc))
        async def middle(x: int) -> int:
            if x == trigger:
                raise Boom("final")
            return x
    elif place == "side-input":
        async def config() -> int:
            await asyncio.sleep(0.001)
            raise exc

        @single_task
        def add(x: int, n: int) -> int:
            return x + n

        middle = add.with_inputs(n=config())
    elif place in ("data-iter", "data-aiter"):
        class Data:
            i = 0

            def __iter__(self) -> Any:
                return self

            def __next__(self) -> int:
                self.i += 1
                if self.i == trigger:
                    raise exc
                return self.i

            def __aiter__(self) -> Any:
                return self

            async def __anext__(self) -> int:
                await asyncio.sleep(0)
                return self.__next__()

        data = Data() if place == "data-iter" else Data().__aiter__()
        if place == "data-aiter":
            del Data.__iter__  # an async iterable only
        return first | last, (data,)
    elif place in ("data-gen-finally", "data-agen-finally"):
        maker = tracked_gen if place == "data-gen-finally" else tracked_agen
        return first | last, (maker(5, None, True),)
    else:  # source-gen, source-agen
        if place == "source-gen":
            @single_task(task_name="source")
            def source() -> Iterator[int]:
                yield from tracked_gen(10, trigger, False)
        else:
            @single_task(task_name="source")
            async def source() -> AsyncIterator[int]:
                async for x in tracked_agen(10, trigger, False):
                    yield x
        return source | first | last, ()
    return first | middle | last, (data,)


class Tracked:
    def __init__(self, finallies: Finallies, label: str) -> None:
        self.finallies, self.label = finallies, label

    def __enter__(self) -> None:
        self.token = self.finallies.enter(self.label)

    def __exit__(self, *exc_info: Any) -> None:
        self.finallies.exit(self.token)


#: (place, kind) pairs that hit bugs still open: see the report of issue 15.
BASE_XFAIL: dict[tuple[str, str], str] = {}


@pytest.mark.parametrize("kind", BASE_KINDS)
@pytest.mark.parametrize("place", PLACES)
def test_a_base_exception_from_user_code(request: pytest.FixtureRequest, place: str, kind: str) -> None:
    """KeyboardInterrupt and SystemExit reach the caller of asyncio.run; a user's own
    BaseException reaches the consumer; CancelledError raised by user code is a failure
    (a RuntimeError). Whichever: nothing pending, every finally run, nothing unraisable."""
    if (place, kind) in BASE_XFAIL:
        request.applymarker(pytest.mark.xfail(strict=False, reason=BASE_XFAIL[(place, kind)]))
    exc = make_base(kind)
    finallies = Finallies()
    got: list[BaseException] = []

    async def main() -> None:
        before = pending_tasks()
        pipeline, args = base_exception_pipeline(place, exc, finallies)
        try:
            await asyncio.wait_for(pipeline(*args).collect(), HANG)
        except TimeoutError:
            raise AssertionError("the run hangs") from None
        except BaseException as error:
            got.append(error)
            assert not (pending_tasks() - before), f"tasks pending when the consumer got {error!r}: {pending_tasks() - before}"
            finallies.assert_all_ran(f"when the consumer got {error!r}")
            raise
        raise AssertionError("the run completed")

    try:
        run_clean(main)
    except BaseException as error:
        outcome = error
    else:
        raise AssertionError("unreachable")
    finallies.assert_all_ran("when asyncio.run returned")
    if kind in ("KeyboardInterrupt", "SystemExit"):
        assert outcome is exc, f"asyncio.run raised {outcome!r}, not the user's {exc!r}"
    elif kind == "Abort":
        assert outcome is exc, f"got {outcome!r}, not the user's {exc!r}"
        assert got and got[0] is exc, "the consumer did not receive the user's BaseException"
    else:
        assert isinstance(outcome, RuntimeError) and "CancelledError" in str(outcome), repr(outcome)


# -- regressions: one test per bug found (issue 15) ------------------------------------------------------


@_examples(2)
@given(ex=examples(flavors=("cancel",), avoid=frozenset(), consume=("collect", "iterate", "with")))
def test_random_chains_cancelled_error_in_retried_sync_calls(ex: Example) -> None:
    """CancelledError raised by user code, any shape, retried or not: a failure like any other."""
    run_and_check(ex)


def run_quick(main: Any) -> Any:
    async def bounded() -> Any:
        before = pending_tasks()
        try:
            result = await asyncio.wait_for(main(), HANG)
        except TimeoutError:
            raise AssertionError("the run hangs") from None
        assert not (pending_tasks() - before)
        return result

    return run_clean(bounded)


@pytest.mark.parametrize("shape", ["function", "generator"])
def test_a_retried_sync_call_raising_cancelled_error_is_a_failure(shape: str) -> None:
    if shape == "function":
        @single_task(retry_attempts=2, retry_delay=0, on_error="skip_item")
        def parse(x: int) -> int:
            raise asyncio.CancelledError()
    else:
        @single_task(retry_attempts=2, retry_delay=0, on_error="skip_item")
        def parse(x: int) -> Iterator[int]:  # type: ignore[misc]
            raise asyncio.CancelledError()
            yield x

    async def main() -> None:
        stream = parse([1, 2])
        assert await stream.collect() == []
        assert (stream.stats.stages[0].skipped, stream.stats.stages[0].retries) == (2, 2)

    run_quick(main)


def test_an_error_handler_raising_cancelled_error_is_a_failure() -> None:
    class Cancels(ErrorHandler):
        async def handle_error(self, error: Exception, item: Any, task_name: str, attempt: int) -> tuple[bool, Any]:
            raise asyncio.CancelledError()

    @single_task(error_handler=Cancels())
    def parse(x: int) -> int:
        raise ValueError(x)

    async def main() -> None:
        with pytest.raises(RuntimeError, match="CancelledError"):
            await parse([1]).collect()

    run_quick(main)


@pytest.mark.parametrize("suspend", [False, True])
def test_a_task_raising_stop_async_iteration_fails_the_run(suspend: bool) -> None:
    @single_task
    async def stops(x: int) -> int:
        if suspend:
            await asyncio.sleep(0)
        if x == 2:
            raise StopAsyncIteration
        return x

    async def main() -> None:
        with pytest.raises(RuntimeError, match="StopAsyncIteration") as info:  # not a quiet, truncated end
            await stops(range(5)).collect()
        assert type(info.value.__cause__) is StopAsyncIteration

    run_quick(main)


LONG_CHAIN = """
import asyncio
from conveyor import single_task

@single_task
async def step(x: int) -> int:
    await asyncio.sleep(0)
    return x

pipeline = step
for _ in range(399):
    pipeline = pipeline | step

assert asyncio.run(pipeline(range(3)).collect()) == [0, 1, 2]
print("ok")
"""


def test_a_long_chain_of_awaiting_stages() -> None:
    """In a child process: a hung event loop does not answer a timeout inside it."""
    try:
        done = subprocess.run([sys.executable, "-X", "dev", "-c", LONG_CHAIN], capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        raise AssertionError("a chain of 400 awaiting stages hangs") from None
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
    assert "never retrieved" not in done.stderr and "Traceback" not in done.stderr, done.stderr[-2000:]


@pytest.mark.parametrize("how", ["break", "aclose", "failure"])
@pytest.mark.parametrize("is_async", [False, True])
def test_a_generator_given_as_data_is_closed_when_the_stream_ends_early(how: str, is_async: bool) -> None:
    finallies = Finallies()

    def numbers() -> Iterator[int]:
        token = finallies.enter("data generator")
        try:
            yield from range(100)
        finally:
            finallies.exit(token)

    async def anumbers() -> AsyncIterator[int]:
        token = finallies.enter("data async generator")
        try:
            for i in range(100):
                yield i
        finally:
            finallies.exit(token)

    @single_task
    def check(x: int) -> int:
        if how == "failure" and x == 3:
            raise Boom(x)
        return x

    async def main() -> None:
        stream = check(anumbers() if is_async else numbers(), max_in_flight=2)
        if how == "break":
            async with stream:
                async for _ in stream:
                    break
        elif how == "aclose":
            await anext(stream)
            await stream.aclose()
        else:
            with pytest.raises(Boom):
                await stream.collect()
        finallies.assert_all_ran(f"after {how}")

    run_quick(main)


@pytest.mark.parametrize("is_async", [False, True])
def test_a_source_generator_is_closed_by_aclose(is_async: bool) -> None:
    finallies = Finallies()

    if is_async:
        @single_task
        async def numbers() -> AsyncIterator[int]:
            token = finallies.enter("source")
            try:
                for i in range(100):
                    yield i
            finally:
                finallies.exit(token)
    else:
        @single_task
        def numbers() -> Iterator[int]:  # type: ignore[misc]
            token = finallies.enter("source")
            try:
                yield from range(100)
            finally:
                finallies.exit(token)

    async def main() -> None:
        stream = numbers(max_in_flight=2)
        await anext(stream)
        await stream.aclose()
        finallies.assert_all_ran("after aclose()")

    run_quick(main)


def test_a_stream_closed_before_it_started_runs_nothing() -> None:
    calls: list[int] = []

    @single_task
    def record(x: int) -> int:
        calls.append(x)
        return x

    async def main() -> None:
        stream = record(range(5))
        await stream.aclose()
        try:
            assert await stream.collect() == []
        except RuntimeError as exc:  # or a clear error saying it was closed
            assert "closed" in str(exc)
        assert calls == []

    run_quick(main)


def test_the_stream_ends_after_the_input_aiter_raised() -> None:
    class Broken:
        def __aiter__(self) -> Any:
            raise OSError("cannot open")

    @single_task
    def ident(x: int) -> int:
        return x

    async def main() -> None:
        stream = ident(Broken())
        with pytest.raises(OSError):
            await anext(stream)
        with pytest.raises(StopAsyncIteration):
            await anext(stream)

    run_quick(main)


def test_an_error_handler_returning_a_non_tuple_fails_the_run() -> None:
    class Sloppy(ErrorHandler):
        async def handle_error(self, error: Exception, item: Any, task_name: str, attempt: int) -> Any:
            return "ok"

    @single_task(error_handler=Sloppy())
    def parse(x: int) -> int:
        if x == 1:
            raise ValueError(x)
        return x

    async def main() -> None:
        with pytest.raises((TypeError, ValueError)):
            await parse(range(3)).collect()

    run_quick(main)
