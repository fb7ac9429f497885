"""Property tests for the graph branches: random trees of fan / fork / route / tee steps
over small int tasks, against a pure-Python model of what each step must emit.

Each example asserts: exactly the model's outputs (input order in ordered mode, the
same multiset as completed), no task left pending, nothing unraisable.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conveyor import Pipeline, batch_task, fan, fork, route_by_key, single_task, tee

# -- the tasks and what each one emits for an item ---------------------------------------------


@single_task
def inc(x: int) -> int:
    return x + 1


@single_task
async def slow_double(x: int) -> int:
    for _ in range(x % 3):
        await asyncio.sleep(0)  # later items sometimes finish first
    return 2 * x


@single_task
def twice(x: int) -> Iterator[int]:
    yield x
    yield x + 100


@single_task
async def evens(x: int) -> AsyncIterator[int]:
    if x % 2 == 0:
        yield x


@single_task
def drop_threes(x: int) -> int | None:
    return None if x % 3 == 0 else x


@batch_task(max_size=2)
def pairs_plus(xs: list[int]) -> list[int]:
    return [x + 7 for x in xs]  # one output per item: each stays with its item


@single_task
def total(answers: tuple[int, ...]) -> int:
    return sum(answers)


TASKS: dict[str, tuple[Any, Callable[[int], list[int]]]] = {
    "inc": (inc, lambda x: [x + 1]),
    "slow_double": (slow_double, lambda x: [2 * x]),
    "twice": (twice, lambda x: [x, x + 100]),
    "evens": (evens, lambda x: [x] if x % 2 == 0 else []),
    "drop_threes": (drop_threes, lambda x: [] if x % 3 == 0 else [x]),
    "pairs_plus": (pairs_plus, lambda x: [x + 7]),
}
ONE_TO_ONE = ["inc", "slow_double", "pairs_plus", "drop_threes", "evens"]  # at most one answer


@dataclass(frozen=True)
class Step:
    kind: str  # a task name, or fan / fork / route / tee
    branches: tuple[tuple[Step, ...], ...] = ()


def steps(depth: int, answers_once: bool = False) -> st.SearchStrategy[tuple[Step, ...]]:
    names = ONE_TO_ONE if answers_once else list(TASKS)
    task = st.sampled_from(names).map(lambda name: Step(name))
    if depth == 0 or answers_once:
        return st.lists(task, min_size=1, max_size=2).map(tuple)
    inner = steps(depth - 1)
    combinator = st.one_of(
        st.lists(inner, min_size=2, max_size=3).map(lambda bs: Step("fan", tuple(bs))),
        st.lists(steps(0, answers_once=True), min_size=2, max_size=3).map(lambda bs: Step("fork", tuple(bs))),
        st.lists(inner, min_size=2, max_size=3).map(lambda bs: Step("route", tuple(bs))),
        st.lists(inner, min_size=1, max_size=2).map(lambda bs: Step("tee", tuple(bs))),
    )
    return st.lists(st.one_of(task, combinator), min_size=1, max_size=3).map(tuple)


def build(chain: tuple[Step, ...]) -> Pipeline[int, int]:
    pipeline: Pipeline[Any, Any] = Pipeline()
    for step in chain:
        if step.kind in TASKS:
            pipeline = pipeline | TASKS[step.kind][0]
            continue
        branches = [build(b) for b in step.branches]
        if step.kind == "fan":
            pipeline = pipeline | fan(*branches)  # type: ignore[call-overload]
        elif step.kind == "fork":
            pipeline = pipeline | fork(*branches) | total  # type: ignore[call-overload]
        elif step.kind == "route":
            count = len(branches)
            pipeline = pipeline | route_by_key(lambda x, n=count: x % n, dict(enumerate(branches)))
        else:
            pipeline = pipeline | tee(*branches)
    return pipeline


def model(chain: tuple[Step, ...], item: int) -> list[int]:
    items = [item]
    for step in chain:
        out: list[int] = []
        for x in items:
            out += model_step(step, x)
        items = out
    return items


def model_step(step: Step, x: int) -> list[int]:
    if step.kind in TASKS:
        return TASKS[step.kind][1](x)
    if step.kind == "fan":
        return [y for branch in step.branches for y in model(branch, x)]
    if step.kind == "fork":
        answers = [model(branch, x) for branch in step.branches]
        return [sum(a[0] for a in answers)] if all(answers) else []
    if step.kind == "route":
        return model(step.branches[x % len(step.branches)], x)
    return [x]  # tee


def run(chain: tuple[Step, ...], data: list[int], *, ordered: bool, window: int | None) -> list[int]:
    async def main() -> list[int]:
        pipeline = build(chain)
        call = pipeline if ordered else pipeline.as_completed
        got = await call(data, max_in_flight=window).collect()
        me = asyncio.current_task()
        assert not [t for t in asyncio.all_tasks() if t is not me and not t.done()], "tasks left pending"
        return got

    return asyncio.run(main())


SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(chain=steps(2), data=st.lists(st.integers(0, 50), max_size=25), window=st.sampled_from([None, 1, 2, 5, 100]))
def test_ordered_runs_give_the_models_outputs_in_input_order(chain: tuple[Step, ...], data: list[int], window: int | None) -> None:
    expected = [y for x in data for y in model(chain, x)]
    assert run(chain, data, ordered=True, window=window) == expected


@SETTINGS
@given(chain=steps(2), data=st.lists(st.integers(0, 50), max_size=25), window=st.sampled_from([None, 1, 3, 100]))
def test_as_completed_runs_give_the_same_items(chain: tuple[Step, ...], data: list[int], window: int | None) -> None:
    expected = [y for x in data for y in model(chain, x)]
    assert sorted(run(chain, data, ordered=False, window=window)) == sorted(expected)


@SETTINGS
@given(
    chain=steps(2),
    data=st.lists(st.integers(0, 50), min_size=1, max_size=25),
    take=st.integers(0, 10),
    how=st.sampled_from(["break", "aclose", "fail"]),
    window=st.sampled_from([None, 1, 3]),
)
def test_stopping_early_delivers_a_prefix_and_leaves_nothing_pending(
    chain: tuple[Step, ...], data: list[int], take: int, how: str, window: int | None
) -> None:
    expected = [y for x in data for y in model(chain, x)]

    @single_task
    def fail_on_last(x: int) -> int:
        if how == "fail" and x == data[-1]:
            raise LookupError(x)
        return x

    async def main() -> list[int]:
        pipeline = fail_on_last | build(chain) if how == "fail" else build(chain)
        stream = pipeline(data, max_in_flight=window)
        got: list[int] = []
        try:
            async for y in stream:
                if how != "fail" and len(got) == take:
                    break
                got.append(y)
        except LookupError:
            pass
        await stream.aclose()
        me = asyncio.current_task()
        assert not [t for t in asyncio.all_tasks() if t is not me and not t.done()], "tasks left pending"
        return got

    got = asyncio.run(main())
    assert got == expected[: len(got)]  # in input order, nothing skipped, nothing twice
