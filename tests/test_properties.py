"""Property tests: random chains of stages against a pure sequential reference.

A chain is 1-5 stage *specs* (see :class:`Spec`). From one spec we build both
- the conveyor task (:func:`build_task`), whose function records every call and
  every failure in a :class:`Trace`, and
- one step of the reference (:func:`reference`), a list-to-list function that
  applies the documented semantics sequentially.

Items are ints, and every stage maps them to ints, so outputs are checkable.
Failures are deterministic: a stage with ``fail=(k, r)`` raises on every call whose
key (the item, or the sum of the batch) is ``r`` mod ``k``, on every attempt.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from conveyor import batch_task, single_task

KINDS = ("map", "filter", "gen", "batch_list", "batch_sum")

# No example database: nothing is written into the repository; print_blob replays a failure.
COMMON = settings(
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


class Boom(ValueError):
    """The error a stage raises on purpose; knows which stage raised it."""

    def __init__(self, stage: str, key: Any) -> None:
        super().__init__(f"{stage} fails on {key!r}")
        self.stage = stage


# -- stage specs ------------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    kind: str  # one of KINDS
    is_async: bool  # async def / async generator, or plain def / generator
    p: int  # the kind's parameter (see raw_result)
    fail: tuple[int, int] | None  # (k, r): calls whose key % k == r raise Boom
    on_error: str  # "skip" or "fail"
    attempts: int  # retry_attempts
    delays: tuple[float, ...]  # async stages sleep delays[key % len(delays)]
    concurrency: int | None
    max_size: int  # batch kinds only

    @property
    def is_batch(self) -> bool:
        return self.kind.startswith("batch")

    def key(self, arg: Any) -> int:
        return sum(arg) if self.is_batch else arg

    def fails(self, arg: Any) -> bool:
        return self.fail is not None and self.key(arg) % self.fail[0] == self.fail[1]

    def reorders(self) -> bool:
        """Can this stage emit in another order than it received (as_completed mode)?"""
        return self.is_async and self.concurrency != 1

    def composition_sensitive(self) -> bool:
        """Do this batch stage's outputs depend on how items are grouped into batches?"""
        return self.kind == "batch_sum" or (self.kind == "batch_list" and self.fail is not None)


def raw_result(spec: Spec, arg: Any) -> Any:
    """What the user function returns (generators: the list of what they yield)."""
    if spec.kind == "map":
        return arg * 3 + spec.p
    if spec.kind == "filter":
        return None if arg % 3 == spec.p % 3 else arg
    if spec.kind == "gen":  # fan-out 0..3; some yielded values are None
        return [None if (arg + i) % 5 == spec.p else arg * 4 + i for i in range((arg + spec.p) % 4)]
    if spec.kind == "batch_list":  # per element; None elements are dropped
        return [None if y % 5 == spec.p else y * 2 + 1 for y in arg]
    total = sum(arg) + spec.p  # batch_sum: an aggregate, sometimes None
    return None if total % 6 == 5 else total


@st.composite
def specs(draw: st.DrawFn, allow_fail_policy: bool = False) -> Spec:
    kind = draw(st.sampled_from(KINDS))
    on_error = draw(st.sampled_from(["skip", "fail"])) if allow_fail_policy else "skip"
    failing = st.tuples(st.integers(2, 7), st.integers(0, 6)).map(lambda t: (t[0], t[1] % t[0]))
    fail = draw(failing if on_error == "fail" else st.none() | failing)
    return Spec(
        kind=kind,
        is_async=draw(st.booleans()),
        p=draw(st.integers(0, 5)),
        fail=fail,
        on_error=on_error,
        attempts=draw(st.sampled_from([1, 1, 2, 3])),
        delays=tuple(draw(st.lists(st.sampled_from([0.0, 0.0, 0.0005, 0.001, 0.002]), min_size=1, max_size=4))),
        concurrency=draw(st.sampled_from([None, None, 1, 2, 3])),
        max_size=draw(st.integers(1, 5)),
    )


chains = st.lists(specs(), min_size=1, max_size=5)
inputs = st.lists(st.integers(0, 60), max_size=15)
windows = st.sampled_from([None, 1, 2, 3, 5, 1024])


# -- building the conveyor task -----------------------------------------------------------


@dataclass
class Trace:
    """What one stage was called with and failed on (batches as tuples)."""

    calls: Counter[Any] = field(default_factory=Counter)
    failed: Counter[Any] = field(default_factory=Counter)
    raised: list[Boom] = field(default_factory=list)
    running: Counter[str] = field(default_factory=Counter)  # "calls" and "items" right now
    peaks: list[tuple[int, int]] = field(default_factory=list)  # (calls, items) at each start


def stage_name(index: int, spec: Spec) -> str:
    return f"s{index}_{spec.kind}"


def build_task(index: int, spec: Spec, trace: Trace) -> Any:
    name = stage_name(index, spec)

    def enter(arg: Any) -> int:
        trace.calls[tuple(arg) if spec.is_batch else arg] += 1
        return spec.key(arg)

    @contextmanager
    def running(arg: Any) -> Iterator[None]:  # around an async call's body
        weight = len(arg) if spec.is_batch else 1
        trace.running.update(calls=1, items=weight)
        trace.peaks.append((trace.running["calls"], trace.running["items"]))
        try:
            yield
        finally:
            trace.running.subtract(calls=1, items=weight)

    def maybe_fail(arg: Any) -> None:
        if spec.fails(arg):
            trace.failed[tuple(arg) if spec.is_batch else arg] += 1
            exc = Boom(name, spec.key(arg))
            trace.raised.append(exc)
            raise exc

    def delay(key: int) -> float:
        return spec.delays[key % len(spec.delays)]

    fn: Any
    if spec.kind == "gen":  # a failing generator first yields -1: it must not leak out
        if spec.is_async:
            async def fn(x):  # type: ignore[no-untyped-def]
                with running(x):
                    await asyncio.sleep(delay(enter(x)))
                    if spec.fails(x):
                        yield -1
                        await asyncio.sleep(0)
                        maybe_fail(x)
                    for value in raw_result(spec, x):
                        yield value
        else:
            def fn(x):  # type: ignore[no-untyped-def]
                enter(x)
                if spec.fails(x):
                    yield -1
                    maybe_fail(x)
                yield from raw_result(spec, x)
    elif spec.is_async:
        async def fn(x):  # type: ignore[no-untyped-def]
            with running(x):
                await asyncio.sleep(delay(enter(x)))
                maybe_fail(x)
                return raw_result(spec, x)
    else:
        def fn(x):  # type: ignore[no-untyped-def]
            enter(x)
            maybe_fail(x)
            return raw_result(spec, x)

    options: dict[str, Any] = dict(
        task_name=name, concurrency_limit=spec.concurrency, retry_attempts=spec.attempts, retry_delay=0
    )
    if spec.is_batch:
        on_error = "fail" if spec.on_error == "fail" else "skip_batch"
        return batch_task(max_size=spec.max_size, on_error=on_error, **options)(fn)
    on_error = "fail" if spec.on_error == "fail" else "skip_item"
    return single_task(on_error=on_error, **options)(fn)


def build(chain: list[Spec]) -> tuple[Any, list[Trace]]:
    traces = [Trace() for _ in chain]
    tasks = [build_task(i, spec, traces[i]) for i, spec in enumerate(chain)]
    pipeline = tasks[0]
    for task in tasks[1:]:
        pipeline = pipeline | task
    return pipeline, traces


# -- the reference --------------------------------------------------------------------------


def interpret(spec: Spec, raw: Any) -> list[Any]:
    """The documented return-value rules."""
    if spec.kind == "gen":  # every yielded non-None value is an item
        return [v for v in raw if v is not None]
    if spec.is_batch:  # a list fans out into its non-None elements; None is nothing
        if raw is None:
            return []
        return [v for v in raw if v is not None] if isinstance(raw, list) else [raw]
    return [] if raw is None else [raw]  # single: one item, None drops it


@dataclass
class Reference:
    outputs: list[int]
    traces: list[Trace]
    fatal: bool  # a stage with on_error="fail" failed: the run must raise


def reference(chain: list[Spec], data: list[int]) -> Reference:
    items = list(data)
    traces = [Trace() for _ in chain]
    for spec, trace in zip(chain, traces):
        if spec.is_batch:
            calls: list[Any] = [items[i:i + spec.max_size] for i in range(0, len(items), spec.max_size)]
        else:
            calls = items
        items = []
        for arg in calls:
            key = tuple(arg) if spec.is_batch else arg
            if spec.fails(arg):  # every attempt fails, then the call is skipped (or fatal)
                trace.calls[key] += spec.attempts
                trace.failed[key] += spec.attempts
                if spec.on_error == "fail":
                    return Reference([], traces, fatal=True)
                continue
            trace.calls[key] += 1
            items.extend(interpret(spec, raw_result(spec, arg)))
    return Reference(items, traces, fatal=False)


def as_completed_safe(chain: list[Spec]) -> bool:
    """In as_completed mode a batch stage groups items in ARRIVAL order. After a stage
    that may reorder items, a batch stage whose outputs depend on the grouping (an
    aggregate, or failures keyed on the whole batch) has no single expected output; such
    chains are excluded from the as_completed properties. Per-element batches are fine."""
    reordered = False
    for spec in chain:
        if spec.is_batch and reordered and spec.composition_sensitive():
            return False
        reordered = reordered or spec.reorders()
    return True


# -- running --------------------------------------------------------------------------------


async def feed(data: list[int]) -> Any:
    for x in data:
        await asyncio.sleep(0)
        yield x


def source(data: list[int], use_async: bool) -> Any:
    return feed(data) if use_async else list(data)


def assert_no_other_tasks() -> None:
    others = asyncio.all_tasks() - {asyncio.current_task()}
    assert not others, f"tasks still pending after the run: {others}"


async def run(chain: list[Spec], data: list[int], *, ordered: bool, window: int | None, use_async: bool) -> tuple[list[int], list[Trace]]:
    pipeline, traces = build(chain)
    call = pipeline if ordered else pipeline.as_completed
    outputs = await call(source(data, use_async), max_in_flight=window).collect()
    assert_no_other_tasks()
    return outputs, traces


def check_bounds(chain: list[Spec], traces: list[Trace], window: int | None) -> None:
    """Bounds on async calls running at once in a stage: at most concurrency_limit calls,
    and at most max_in_flight items in them (a lone call may exceed it: a big batch)."""
    for index, (spec, trace) in enumerate(zip(chain, traces)):
        for calls, items in trace.peaks:
            assert spec.concurrency is None or calls <= spec.concurrency, (stage_name(index, spec), calls)
            assert window is None or calls == 1 or items <= window, (stage_name(index, spec), calls, items)


def check_traces(chain: list[Spec], got: list[Trace], want: list[Trace], *, exact_batches: bool) -> None:
    """Property 3: each stage was called on exactly the reference's inputs (retries
    included) and failed on exactly the reference's failing ones; with the outputs
    equal to the reference, nothing was lost beyond filters and skipped failures."""
    for index, (spec, g, w) in enumerate(zip(chain, got, want)):
        where = stage_name(index, spec)
        assert g.failed == w.failed, f"{where}: failed on {g.failed}, reference {w.failed}"
        if spec.is_batch and not exact_batches:  # grouping may differ: compare the items
            assert _items(g.calls) == _items(w.calls), f"{where}: batches hold other items"
        else:
            assert g.calls == w.calls, f"{where}: called with {g.calls}, reference {w.calls}"


def _items(batches: Counter[Any]) -> Counter[int]:
    return Counter(x for batch, n in batches.items() for x in batch for _ in range(n))


# -- properties -----------------------------------------------------------------------------


@settings(COMMON, max_examples=300)
@given(chain=chains, data=inputs, window=windows, use_async=st.booleans())
def test_ordered_output_equals_reference(chain: list[Spec], data: list[int], window: int | None, use_async: bool) -> None:
    """Properties 1 and 3: in input order, the output IS the reference output, and the
    items skipped are exactly those whose call raised."""
    want = reference(chain, data)
    event(f"skipped calls: {'yes' if any(t.failed for t in want.traces) else 'no'}")
    outputs, traces = asyncio.run(run(chain, data, ordered=True, window=window, use_async=use_async))
    assert outputs == want.outputs
    check_traces(chain, traces, want.traces, exact_batches=True)
    check_bounds(chain, traces, window)


@settings(COMMON, max_examples=200)
@given(chain=chains.filter(as_completed_safe), data=inputs, window=windows, use_async=st.booleans())
def test_as_completed_output_is_a_permutation_of_reference(
    chain: list[Spec], data: list[int], window: int | None, use_async: bool
) -> None:
    """Properties 2 and 3 in completion order (restricted to as_completed_safe chains)."""
    want = reference(chain, data)
    outputs, traces = asyncio.run(run(chain, data, ordered=False, window=window, use_async=use_async))
    assert Counter(outputs) == Counter(want.outputs)
    exact = not any(s.reorders() for s in chain)  # no reordering at all: batches are as in the reference
    check_traces(chain, traces, want.traces, exact_batches=exact)
    check_bounds(chain, traces, window)


fail_chains = st.lists(specs(allow_fail_policy=True), min_size=1, max_size=5)


@settings(COMMON, max_examples=250)
@given(chain=fail_chains, data=inputs, window=windows, use_async=st.booleans(), ordered=st.booleans(), use_collect=st.booleans())
def test_fail_policy_raises_the_original_exception_and_leaves_nothing_running(
    chain: list[Spec], data: list[int], window: int | None, use_async: bool, ordered: bool, use_collect: bool
) -> None:
    """Property 4: when a stage with on_error="fail" fails, the consumer gets the very
    exception the function raised (type Boom, noted with the task name) and, right
    after it arrives, no task of the run is left pending. Otherwise the run completes
    like the reference."""
    if not ordered and not as_completed_safe(chain):
        ordered = True  # which calls happen would depend on the grouping
    want = reference(chain, data)
    event(f"run fails: {want.fatal}")

    async def main() -> None:
        pipeline, traces = build(chain)
        stream = (pipeline if ordered else pipeline.as_completed)(source(data, use_async), max_in_flight=window)
        outputs: list[int] = []
        try:
            if use_collect:
                outputs = await stream.collect()
            else:
                async for item in stream:  # no aclose: the run must clean up by itself
                    outputs.append(item)
        except Boom as exc:
            assert_no_other_tasks()
            assert want.fatal, f"unexpected failure {exc!r}"
            assert type(exc) is Boom
            raised = [e for t in traces for e in t.raised]
            assert any(exc is e for e in raised), "not the original exception object"
            assert any(f"{exc.stage!r}" in note for note in getattr(exc, "__notes__", [])), exc.__notes__
            return
        assert_no_other_tasks()
        assert not want.fatal, "a stage with on_error='fail' failed, but the run completed"
        if ordered:
            assert outputs == want.outputs
        else:
            assert Counter(outputs) == Counter(want.outputs)

    asyncio.run(main())


def test_reference_follows_the_documented_rules() -> None:
    """Sanity check of the reference itself on a hand-computed chain."""
    chain = [
        Spec("map", False, 0, None, "skip", 1, (0.0,), None, 1),  # x*3
        Spec("batch_sum", False, 0, (4, 0), "skip", 2, (0.0,), None, 2),  # pairs; sum%4==0 fails
        Spec("gen", True, 0, None, "skip", 1, (0.0,), None, 1),  # fan-out x%4, None when (x+i)%5==0
    ]
    # [0,1,2,3,4] -> [0,3,6,9,12] -> batches [0,3] [6,9] [12] -> 3, 15, (12 fails twice)
    # -> 3: [12, 13, None]; 15: [None, 61, 62]
    want = reference(chain, [0, 1, 2, 3, 4])
    assert want.traces[1].calls == Counter({(0, 3): 1, (6, 9): 1, (12,): 2})
    assert want.traces[1].failed == Counter({(12,): 2})
    assert want.outputs == [12, 13, 61, 62]
    assert not want.fatal
