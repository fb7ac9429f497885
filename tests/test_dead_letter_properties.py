"""Property tests for dead letters: random chains of single, async and batch tasks
failing on random items (some only on their first attempt, then retried), with a
dead-letter branch per task or one for the whole pipeline, in ordered and
as_completed modes, under small ``max_in_flight`` windows.

Each example asserts: every input item is delivered or dead-lettered exactly once
(none lost, none duplicated), delivered items keep input order in ordered mode,
each record names a task that really failed on it, and nothing is left pending.

A second property puts the failing tasks in the branches of a ``fan`` under one
pipeline-wide branch, against a model (the exact outputs in order, the exact
records), and stops some runs early (a prefix in order, no record twice, nothing
left pending).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from conveyor import Failed, batch_task, fan, single_task
from tests.helpers import settle


@dataclass(frozen=True)
class Spec:
    kind: str  # "sync", "async" or "batch"
    fails: frozenset[int]  # items it always fails on (a batch: batches holding one)
    flaky: frozenset[int]  # items it fails on at the first attempt only (retried once)
    size: int  # batch size


def _make(index: int, spec: Spec) -> Any:
    seen: Counter[int] = Counter()

    def decide(*ns: int) -> None:
        """One call's verdict: it fails on an item of ``fails``, and on an item of
        ``flaky`` met for the first time (so that the retry, if any, succeeds)."""
        first = [n for n in ns if n in spec.flaky and not seen[n]]
        seen.update(ns)
        if first or spec.fails & set(ns):
            raise ValueError(f"stage {index} fails on {ns}")

    retries: dict[str, Any] = {"retry_attempts": 2, "retry_delay": 0} if spec.flaky else {}
    if spec.kind == "sync":
        def sync_step(n: int) -> int:
            decide(n)
            return n

        return single_task(task_name=f"s{index}", **retries)(sync_step)
    if spec.kind == "async":
        async def async_step(n: int) -> int:
            for _ in range(n % 3):
                await asyncio.sleep(0)  # later items sometimes finish first
            decide(n)
            return n

        return single_task(task_name=f"s{index}", **retries)(async_step)

    def batch_step(ns: list[int]) -> list[int]:
        decide(*ns)
        return ns

    return batch_task(task_name=f"s{index}", max_size=spec.size, **retries)(batch_step)


_ITEMS = 30
_subset = st.frozensets(st.integers(0, _ITEMS - 1), max_size=8)
_specs = st.builds(Spec, st.sampled_from(["sync", "async", "batch"]), _subset, _subset, st.integers(1, 4))


@given(
    specs=st.lists(_specs, min_size=1, max_size=3),
    count=st.integers(0, _ITEMS),
    ordered=st.booleans(),
    shared=st.booleans(),
    window=st.sampled_from([1, 2, 4, None]),
    slow_sink=st.booleans(),
)
@settings(max_examples=150)
def test_every_item_is_delivered_or_dead_lettered_exactly_once(
    specs: list[Spec], count: int, ordered: bool, shared: bool, window: int | None, slow_sink: bool
) -> None:
    records: list[Failed[Any]] = []

    @single_task
    async def keep(record: Failed[int]) -> None:
        if slow_sink:
            await asyncio.sleep(0)
        records.append(record)

    tasks = [_make(i, spec) for i, spec in enumerate(specs)]
    if not shared:
        tasks = [task.with_dead_letters(keep) for task in tasks]
    pipeline = tasks[0] if len(tasks) == 1 else tasks[0] | tasks[1] if len(tasks) == 2 else tasks[0] | tasks[1] | tasks[2]
    if shared:
        pipeline = pipeline.with_dead_letters(keep)
    items = list(range(count))

    async def main() -> list[int]:
        stream = pipeline(items, max_in_flight=window) if ordered else pipeline.as_completed(items, max_in_flight=window)
        delivered: list[int] = await stream.collect()
        assert await settle() == set()  # nothing of the run is left pending
        dead = sum(stream.stats[f"s{i}"].dead_lettered for i in range(len(specs)))
        assert dead == len(records)
        return delivered

    delivered = asyncio.run(main())
    dead_items = [r.item for r in records]
    assert sorted(delivered + dead_items) == items  # exactly once: none lost, none twice
    if ordered:
        assert delivered == sorted(delivered)
    for record in records:
        spec = specs[int(record.task[1:])]
        group = record.batch if record.batch is not None else (record.item,)
        assert spec.fails & set(group), (record, spec)
        assert record.attempts == (2 if spec.flaky else 1)
    for n in delivered:
        assert all(n not in spec.fails for spec in specs)


# -- dead letters inside branches, and runs stopped early ----------------------------------------


def _branch_task(b: int, fails: frozenset[int], kind: str) -> Any:
    if kind == "async":
        async def async_branch(n: int) -> int:
            for _ in range(n % 2):
                await asyncio.sleep(0)
            if n in fails:
                raise ValueError(n)
            return n * 10 + b

        return single_task(task_name=f"b{b}")(async_branch)

    def sync_branch(n: int) -> int:
        if n in fails:
            raise ValueError(n)
        return n * 10 + b

    return single_task(task_name=f"b{b}")(sync_branch)


@given(
    fails=st.lists(_subset, min_size=2, max_size=3),
    kinds=st.lists(st.sampled_from(["sync", "async"]), min_size=3, max_size=3),
    count=st.integers(0, _ITEMS),
    ordered=st.booleans(),
    window=st.sampled_from([1, 3, None]),
    stop_after=st.none() | st.integers(1, 10),
)
@settings(max_examples=100)
def test_dead_letters_in_fan_branches_match_the_model(
    fails: list[frozenset[int]], kinds: list[str], count: int, ordered: bool, window: int | None,
    stop_after: int | None,
) -> None:
    records: list[Failed[Any]] = []

    @single_task
    def keep(record: Failed[int]) -> None:
        records.append(record)

    branches = [_branch_task(b, f, kinds[b]) for b, f in enumerate(fails)]
    step = fan(branches[0], branches[1]) if len(branches) == 2 else fan(branches[0], branches[1], branches[2])
    pipeline = step.with_dead_letters(keep)
    items = list(range(count))
    expected = [n * 10 + b for n in items for b, f in enumerate(fails) if n not in f]
    expected_dead = sorted((f"b{b}", n) for n in items for b, f in enumerate(fails) if n in f)

    async def main() -> list[int]:
        stream = pipeline(items, max_in_flight=window) if ordered else pipeline.as_completed(items, max_in_flight=window)
        out: list[int] = []
        async for value in stream:
            out.append(value)
            if stop_after is not None and len(out) >= stop_after:
                break
        await stream.aclose()
        assert await settle() == set()  # a run stopped early leaves nothing pending either
        return out

    delivered = asyncio.run(main())
    if stop_after is not None and len(delivered) >= stop_after:
        assert len(delivered) == stop_after
        if ordered:
            assert delivered == expected[:stop_after]  # a prefix, in order
        assert len({(r.task, r.item) for r in records}) == len(records)  # never twice
        return
    if ordered:
        assert delivered == expected
    else:
        assert sorted(delivered) == sorted(expected)
    assert sorted((r.task, r.item) for r in records) == expected_dead
