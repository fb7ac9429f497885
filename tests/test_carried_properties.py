"""Differential property tests for carried calls (runtime/carrying.py).

Random linear pipelines of 1 to 5 async single tasks (calls that never wait, wait
``sleep(0)`` or a little while, later items sometimes first; some return None, some
fail and are skipped or retried, some set a context variable, some have a
``concurrency_limit``; runs ordered or as completed, with a small ``max_in_flight``
or none) are each run twice: as they are, and with the carrying task's fast paths
switched off (``fast_paths_off``: no stage is ``plain``, so no ``_pass_on``, and no
carried call is made and awaited in the carrying task's own context: every one
copies its stage's context and starts eagerly, the way carried calls went before).

Each example asserts, for both runs: the model's outputs (in input order, or the
same multiset as completed), the same per-stage figures in both runs and as the
model counts them (all but ``busy_seconds``), every call seeing its stage's context
as a fresh task would (checked by identity: the values calls set compare equal to the
consumer's, see ``Tag``), no stage running more calls at once than its bounds allow,
and nothing left pending, unawaited or logged by asyncio afterwards. A second
property stops runs early (break, drop, aclose, a failure) and checks what was
delivered and that everything ended.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import gc
import logging
import warnings
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conveyor import Pipeline, single_task
from conveyor.runtime import carrying
from conveyor.runtime.calls import Slot
from conveyor.runtime.carrying import Carrying
from conveyor.runtime.stage import Stage
from conveyor.stream import Stream
from tests.helpers import settle

# -- the switch ---------------------------------------------------------------------------

_FOREIGN: contextvars.ContextVar[object] = contextvars.ContextVar("never_in_a_stage_context")


@contextmanager
def fast_paths_off() -> Iterator[None]:
    """Carried calls the way they went before the fast paths: no stage is plain (no
    ``_pass_on``), and ``_adopt_downstream`` is told a context that equals no stage's,
    so every carried call gets a copy of its stage's context and an eager first step.
    (conveyor has no switch of its own for this: the two are patched here.)"""
    foreign = contextvars.copy_context()
    foreign.run(_FOREIGN.set, object())  # no stage's context holds this variable
    init = Stage.__init__
    adopt = Carrying._adopt_downstream

    def init_not_plain(self: Stage, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        self.plain = False

    def adopt_copying(
        self: Carrying, context: contextvars.Context | None = None
    ) -> tuple[Carrying, Any, Slot] | None:
        return adopt(self, foreign)

    with mock.patch.object(Stage, "__init__", init_not_plain), \
            mock.patch.object(Carrying, "_adopt_downstream", adopt_copying):
        yield


@dataclass(frozen=True)
class Knobs:
    """How soon a stage gives up eager first steps, how often it probes, and how often a
    carried call starts eagerly for the blocking check: any values give the same results."""

    give_up: int
    probe_every: int
    blocking_probe_every: int


@contextmanager
def knobs_set(knobs: Knobs) -> Iterator[None]:
    with mock.patch.object(carrying, "EAGER_GIVE_UP", knobs.give_up), \
            mock.patch.object(carrying, "EAGER_PROBE_EVERY", knobs.probe_every), \
            mock.patch.object(carrying, "BLOCKING_PROBE_EVERY", knobs.blocking_probe_every):
        yield


# -- random stages ------------------------------------------------------------------------

VAR: contextvars.ContextVar[object] = contextvars.ContextVar("carried_var", default="never set")


class Tag:
    """A call's own value of ``VAR``: every Tag == every other (as equal-looking values do),
    so only an identity check tells whose it is."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tag)

    def __hash__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return f"Tag({self.name!r})"


@dataclass(frozen=True)
class Spec:
    wait: str  # none | zero | tiny | reverse | some
    drop: int  # returns None when v % drop == 1 (0: never)
    fail: str  # never | skip | retry_once | retry_then_skip
    fail_mod: int  # fails when v % fail_mod == 2
    context: str  # none | set (left set) | set_reset (set, then reset before returning)
    limit: int | None  # concurrency_limit
    timeout: float | None  # never reached: the call's deadline is armed and ended
    wrong: bool  # a skipping stage returns a float for v % 5 == 0: skipped when items are checked


specs = st.builds(
    Spec,
    wait=st.sampled_from(["none", "zero", "tiny", "reverse", "some"]),
    drop=st.sampled_from([0, 0, 3, 5]),
    fail=st.sampled_from(["never", "never", "skip", "retry_once", "retry_then_skip"]),
    fail_mod=st.sampled_from([3, 4, 7]),
    context=st.sampled_from(["none", "none", "set", "set_reset"]),
    limit=st.sampled_from([None, None, None, 1, 2]),
    timeout=st.sampled_from([None, None, None, 60.0]),
    wrong=st.booleans(),
)
#: Chains of stages that are all plain when ordered and unchecked (no limit or timeout), so that
#: plain stages often follow each other and the short way (``_pass_on``) is taken.
plain_chains = st.lists(specs.map(lambda s: dataclasses.replace(s, limit=None, timeout=None)), min_size=2, max_size=5)
chains = st.one_of(st.lists(specs, min_size=1, max_size=5), plain_chains).map(tuple)
knobs = st.builds(
    Knobs,
    give_up=st.sampled_from([1, 8]),
    probe_every=st.sampled_from([2, 256]),
    blocking_probe_every=st.sampled_from([1, 2, 3, 256]),
)
windows = st.sampled_from([10_000, None, 1, 2, 3])
#: Up to 40 distinct items (the model counts attempts per value), from a random start.
streams = st.builds(lambda n, start: list(range(start, start + n)), st.integers(0, 40), st.integers(0, 20))
consumers = st.sampled_from(["collect", "iterate", "mixed"])


def step(index: int, v: int) -> int:
    return v * 3 + index


def fails(spec: Spec, v: int) -> bool:
    return spec.fail != "never" and v % spec.fail_mod == 2


def drops(spec: Spec, v: int) -> bool:
    return spec.drop != 0 and v % spec.drop == 1


def wrong(spec: Spec, v: int) -> bool:
    return spec.wrong and spec.fail in ("skip", "retry_then_skip") and v % 5 == 0


@dataclass
class Probe:
    """What the calls of one run saw: contexts that were not their stage's, and how many
    calls of each stage ran at once."""

    outer: object
    leaks: list[str] = field(default_factory=list)
    active: Counter[str] = field(default_factory=Counter)
    most: Counter[str] = field(default_factory=Counter)


async def wait(how: str, v: int) -> None:
    if how == "zero":
        await asyncio.sleep(0)
    elif how == "tiny":
        await asyncio.sleep(0.0005 * (v % 3))  # sleep(0) for a third of the items
    elif how == "reverse":
        await asyncio.sleep(0.0002 * (7 - v % 8))  # later items of a group finish first
    elif how == "some" and v % 2:
        await asyncio.sleep(0.0001)  # the others finish without waiting


def make_task(index: int, spec: Spec, probe: Probe, fail_run_on: int | None = None) -> Any:
    name = f"s{index}"
    attempts: Counter[int] = Counter()  # one run's attempts per value

    async def call(v: int) -> int | None:
        probe.active[name] += 1
        probe.most[name] = max(probe.most[name], probe.active[name])
        try:
            if v == fail_run_on:
                await wait(spec.wait, v)
                raise ValueError(f"{name} fails the run on {v}")
            if VAR.get() is not probe.outer:
                probe.leaks.append(f"{name}({v}) started with {VAR.get()!r}")
            mine = Tag(f"{name}({v})")  # == the consumer's value, but this call's own
            token = VAR.set(mine) if spec.context != "none" else None
            try:
                await wait(spec.wait, v)
                if VAR.get() is not (probe.outer if token is None else mine):
                    probe.leaks.append(f"{name}({v}) resumed with {VAR.get()!r}")
                if fails(spec, v):
                    attempts[v] += 1
                    if spec.fail != "retry_once" or attempts[v] == 1:
                        raise ValueError(f"{name} fails on {v}")
                if drops(spec, v):
                    return None
                if wrong(spec, v):
                    return cast(int, float(step(index, v)))  # equal to the int, but not one
                return step(index, v)
            finally:
                if token is not None and spec.context == "set_reset":
                    VAR.reset(token)  # the context equals the stage's again
        finally:
            probe.active[name] -= 1

    options: dict[str, Any] = {"task_name": name, "concurrency_limit": spec.limit, "timeout": spec.timeout}
    if spec.fail == "skip":
        options.update(on_error="skip_item")
    elif spec.fail == "retry_once":
        options.update(retry_attempts=2, retry_delay=0)
    elif spec.fail == "retry_then_skip":
        options.update(retry_attempts=2, retry_delay=0, on_error="skip_item")
    return single_task(**options)(call)


def build(chain: tuple[Spec, ...], probe: Probe, fail_run_on: int | None) -> Pipeline[int, int]:
    """The pipeline; its last stage fails the run on ``fail_run_on`` (if not None)."""
    pipeline: Pipeline[Any, Any] = Pipeline()
    for index, spec in enumerate(chain):
        pipeline = pipeline | make_task(index, spec, probe, fail_run_on if index == len(chain) - 1 else None)
    return pipeline


# -- the model ----------------------------------------------------------------------------

Figures = tuple[tuple[str, int, int, int, int, int, int, int, int], ...]


def model(chain: tuple[Spec, ...], data: list[int], check: bool = False) -> tuple[list[int], Figures]:
    """The outputs in input order, and each stage's figures: (name, items_in, items_out,
    calls, finished_calls, retries, skipped, failed, dead_lettered)."""
    values = list(data)
    figures = []
    for index, spec in enumerate(chain):
        out: list[int] = []
        retries = skipped = 0
        for v in values:
            if fails(spec, v):
                retries += spec.fail in ("retry_once", "retry_then_skip")
                if spec.fail != "retry_once":
                    skipped += 1
                    continue
            if drops(spec, v):
                continue
            if check and wrong(spec, v):  # an ItemTypeError, each attempt
                retries += spec.fail == "retry_then_skip"
                skipped += 1
                continue
            out.append(step(index, v))  # unchecked, a float equal to it
        n = len(values)
        figures.append((f"s{index}", n, len(out), n, n, retries, skipped, 0, 0))
        values = out
    return values, tuple(figures)


def figures_of(stream: Stream[Any]) -> Figures:
    return tuple(
        (s.name, s.items_in, s.items_out, s.calls, s.finished_calls, s.retries, s.skipped, s.failed, s.dead_lettered)
        for s in stream.stats.stages
    )


# -- running ------------------------------------------------------------------------------

HANG = 10.0  # seconds: far more than any example takes, even on a loaded machine


@dataclass
class Outcome:
    outputs: list[int]
    figures: Figures
    delivered: int
    probe: Probe
    error: BaseException | None = None


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def watched() -> Iterator[None]:
    """No "never awaited" warning, nothing asyncio logs (a task destroyed pending, an
    exception never retrieved), and conveyor's retry and skip warnings kept quiet."""
    records = _Records()
    asyncio_log, conveyor_log = logging.getLogger("asyncio"), logging.getLogger("conveyor")
    level = conveyor_log.level
    asyncio_log.addHandler(records)
    conveyor_log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
            gc.collect()
    finally:
        asyncio_log.removeHandler(records)
        conveyor_log.setLevel(level)
    assert [str(w.message) for w in caught if "never awaited" in str(w.message)] == []
    assert [r.getMessage() for r in records.records] == []


async def consume(stream: Stream[int], how: str, got: list[int]) -> None:
    if how == "collect":
        got += await stream.collect()
    elif how == "iterate":
        async for y in stream:
            got.append(y)
    else:  # some items one by one, then the rest at once
        async for y in stream:
            got.append(y)
            if len(got) == 3:
                break
        got += await stream.collect()


def run(
    chain: tuple[Spec, ...], data: list[int], *, ordered: bool, window: int | None, check: bool,
    knobs: Knobs, consumer: str, stop: str | None = None, take: int = 0, fail_run_on: int | None = None,
) -> Outcome:
    async def main() -> Outcome:
        outer = Tag("outer")
        VAR.set(outer)  # a value set in the consumer's context: every stage's context holds it
        probe = Probe(outer)
        pipeline = build(chain, probe, fail_run_on)
        call = pipeline if ordered else pipeline.as_completed
        stream = call(data, max_in_flight=window, check_items="all" if check else "off")
        got: list[int] = []
        error: BaseException | None = None
        try:
            async with asyncio.timeout(HANG):  # a run that hangs fails the example
                if stop is None:
                    await consume(stream, consumer, got)
                else:
                    async for y in stream:
                        if stop != "fail" and len(got) == take:
                            break
                        got.append(y)
        except ValueError as exc:
            error = exc
        outcome = Outcome(got, figures_of(stream), stream.stats.delivered, probe, error)
        if stop == "drop":
            del stream  # breaking out and dropping the stream cancels its run
            gc.collect()
        else:
            await stream.aclose()
        assert not await settle(), "tasks left pending"
        assert VAR.get() is outer, "the consumer's context changed"
        return outcome

    with watched(), knobs_set(knobs):
        return asyncio.run(main())


def check_probe(probe: Probe, chain: tuple[Spec, ...], window: int | None) -> None:
    assert probe.leaks == []
    for index, spec in enumerate(chain):
        bounds = [b for b in (window, spec.limit) if b is not None]
        if bounds:
            assert probe.most[f"s{index}"] <= min(bounds), (index, dict(probe.most))


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(
    chain=chains,
    data=streams,
    ordered=st.sampled_from([True, True, False]),  # the short way is for ordered runs
    window=windows,
    check=st.sampled_from([False, False, False, True]),
    knobs=knobs,
    consumers=st.tuples(consumers, consumers),
)
def test_carried_calls_give_what_the_copying_way_gives(
    chain: tuple[Spec, ...], data: list[int], ordered: bool, window: int | None, check: bool,
    knobs: Knobs, consumers: tuple[str, str],
) -> None:
    expected, figures = model(chain, data, check)
    fast = run(chain, data, ordered=ordered, window=window, check=check, knobs=knobs, consumer=consumers[0])
    with fast_paths_off():
        slow = run(chain, data, ordered=ordered, window=window, check=check, knobs=knobs, consumer=consumers[1])
    for outcome in (fast, slow):
        assert outcome.error is None
        if ordered:
            assert outcome.outputs == expected
        else:
            assert Counter(outcome.outputs) == Counter(expected)
        check_probe(outcome.probe, chain, window)
        assert outcome.delivered == len(expected)
    assert fast.figures == slow.figures == figures


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    chain=chains,
    data=streams.filter(bool),
    ordered=st.booleans(),
    window=st.sampled_from([None, 1, 3]),
    knobs=knobs,
    stop=st.sampled_from(["break", "drop", "aclose", "fail"]),
    take=st.integers(0, 8),
)
def test_a_run_stopped_early_delivers_what_it_should_and_leaves_nothing(
    chain: tuple[Spec, ...], data: list[int], ordered: bool, window: int | None, knobs: Knobs,
    stop: str, take: int,
) -> None:
    expected, _ = model(chain, data)
    failing = None
    if stop == "fail":  # the last stage fails the run on the last value that reaches it
        last, index = chain[-1], len(chain) - 1
        chain = (*chain[:-1], dataclasses.replace(last, fail="never"))
        reaching, _ = model(chain[:-1], data)
        if not reaching:
            return
        failing = reaching[-1]
        expected = [step(index, v) for v in reaching if v != failing and not drops(last, v)]
    outcome = run(chain, data, ordered=ordered, window=window, check=False, knobs=knobs,
                  consumer="iterate", stop=stop, take=take, fail_run_on=failing)
    if stop == "fail":
        assert outcome.error is not None and f"fails the run on {failing}" in str(outcome.error)
    else:
        assert outcome.error is None
        assert len(outcome.outputs) == min(take, len(expected))
    if ordered:
        assert outcome.outputs == expected[: len(outcome.outputs)]
    else:
        assert not Counter(outcome.outputs) - Counter(expected)
    check_probe(outcome.probe, chain, window)


# -- the switch is a real one -------------------------------------------------------------


def test_the_fast_paths_are_taken_and_the_switch_turns_them_off() -> None:
    """Without this the differential test above could compare the copying way with itself."""
    direct = Counter[str]()
    open_carried, pass_on = Carrying._open_carried, Carrying._pass_on

    def counted_open(self: Carrying, item: Any) -> Slot:
        direct["open_carried"] += 1
        return open_carried(self, item)

    def counted_pass(self: Carrying, *args: Any) -> Any:
        carried = pass_on(self, *args)
        direct["pass_on"] += carried is not None
        return carried

    plain = Spec("zero", 0, "never", 3, "none", None, None, False)
    limited = dataclasses.replace(plain, limit=2)
    chain = (plain, plain, limited, plain)  # into a plain stage: _pass_on; into a limited one: _open_carried
    data = list(range(50))
    with mock.patch.object(Carrying, "_open_carried", counted_open), mock.patch.object(Carrying, "_pass_on", counted_pass):
        on = run(chain, data, ordered=True, window=None, check=False, knobs=Knobs(8, 256, 256), consumer="collect")
        taken = dict(direct)
        direct.clear()
        with fast_paths_off():
            off = run(chain, data, ordered=True, window=None, check=False, knobs=Knobs(8, 256, 256), consumer="collect")
    assert on.outputs == off.outputs == model(chain, data)[0]
    assert taken.get("open_carried", 0) > 0 and taken.get("pass_on", 0) > 0, taken
    assert dict(direct) == {}, direct


# -- found in review: the check compared contexts with ==, which calls the values' __eq__ --
# (fixed by same_context in runtime/carrying.py, which compares the values by identity)


class Strict:
    """A value whose == raises, as a numpy array's or a pandas frame's truth value does."""

    def __eq__(self, other: object) -> bool:
        raise ValueError("the truth value of an array with more than one element is ambiguous")

    __hash__ = object.__hash__


async def test_a_context_variable_whose_values_cannot_be_compared() -> None:
    @single_task
    async def sets(x: int) -> int:
        VAR.set(Strict())  # this call's own value
        await asyncio.sleep(0.001)
        return x

    @single_task
    async def after(x: int) -> int:
        await asyncio.sleep(0)
        return x

    async def main() -> list[int]:
        VAR.set(Strict())  # the consumer's value, in every stage's context
        return await (sets | after)(range(60)).collect()

    assert await asyncio.create_task(main()) == list(range(60))  # with ==: an "internal error"
    assert not await settle()


async def test_a_value_equal_to_the_stages_but_set_by_another_call_is_not_seen() -> None:
    own: list[list[int]] = []
    leaked: list[int] = []

    @single_task
    async def sets(x: int) -> int:
        mine: list[int] = []  # equal to the consumer's value, but this call's own object
        VAR.set(mine)
        own.append(mine)
        await asyncio.sleep(0.001)
        return x

    @single_task
    async def reads(x: int) -> int:
        if any(VAR.get() is value for value in own):
            leaked.append(x)
        await asyncio.sleep(0)
        return x

    async def main() -> list[int]:
        VAR.set([])  # the consumer's value, in every stage's context
        return await (sets | reads)(range(60)).collect()

    assert await asyncio.create_task(main()) == list(range(60))
    assert leaked == []
