"""A fan or fork whose branches' calls complete inline, run by its feeder itself.

When every stage of every branch is a plain inline stage (``Stage.fusable``, in
runtime/stage.py), the step's feeder takes each item through each branch's stages
itself, one call after the other, and hands the item's outputs on at once: branch by
branch (fan) or paired (fork). No inlet, branch pump, collector or marker of where an
item's outputs end is needed: the feeder made every output of the item, just now. The
step's bound holds as for tee's main line: the feeder waits while ``max_in_flight``
outputs wait to be pulled, so the source is read no faster than the consumer drains.

The first call that does not complete inline (a coroutine that suspends, a retry, an
error handler) is finished by the feeder in its own task (the task that started it,
so ``asyncio.current_task()`` stays right for the user's code). After that item the
step switches for good to the usual way (runtime/branch_nodes.py): the branches'
stages get their pumps, their links and their markers back, and the feeder goes on
feeding inlets. The switch comes between two items, when every branch stage is idle
and empty, so the usual way starts as if at the beginning of the stream; the outlet
first hands on what the fused items left.

A mixin of ``BranchNode``, whose attributes it declares below.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from conveyor.runtime.inputs import EMPTY, END, Outlet
from conveyor.runtime.pump import YIELD_EVERY
from conveyor.runtime.stage import Stage

if TYPE_CHECKING:
    from conveyor.combinators import Combinator
    from conveyor.runtime.scheduler import Run
    from conveyor.runtime.stats import StageStats

__all__ = ["Fused", "chain_of"]


def chain_of(end: Outlet, inlet: Outlet) -> list[Any]:
    """The elements of a branch, first to last: its stages and nested steps."""
    elements: list[Any] = []
    element: Any = end
    while element is not inlet:
        elements.append(element)
        element = element.upstream
    return elements[::-1]


class Fused:
    """A fan's or fork's feeder running its branches itself (the attributes below are the node's)."""

    if TYPE_CHECKING:
        run: Run
        step: Combinator
        kind: str
        upstream: Outlet
        stats: StageStats
        window: float
        tracking: bool
        tracked: bool
        in_order: bool
        ready: deque[Any]
        ended: list[bool]
        _reader: asyncio.Future[None] | None
        fed_all: bool
        _main_room: asyncio.Future[None] | None
        _in_order: Callable[[], Any]

        def _paired(self, item: Any, parts: list[list[Any]]) -> tuple[Any, ...] | None: ...
        def _out(self, item: Any) -> Any: ...
        def _start_branches(self) -> None: ...
        def _room_in_ready(self) -> Coroutine[Any, Any, None]: ...
        def _feed(self) -> Coroutine[Any, Any, None]: ...
        def wake_reader(self) -> None: ...

    fused: list[list[Stage]] | None = None
    fusing = False

    def _fuse(self, chains: list[list[Any]]) -> None:
        """Run the branches in the feeder if every one of their stages allows it."""
        if self.kind not in ("fan", "fork") or self.tracked or not chains:
            return
        if not all(isinstance(element, Stage) and element.fusable for chain in chains for element in chain):
            return
        self.fused = [list(chain) for chain in chains]
        self.fusing = True
        for stages in self.fused:
            for stage in stages:
                stage.tracking = False  # the feeder knows which outputs are whose
                stage.downstream = None  # nothing carries an item on: the feeder does

    async def _feed_fused(self) -> None:
        assert self.fused is not None
        for stages in self.fused:
            for stage in stages:
                if not await stage.prepare():
                    return
        upstream, run, fused, ready_out = self.upstream, self.run, self.fused, self.ready
        stats, window, fork = self.stats, self.window, self.kind == "fork"
        turn = 0
        # The per-item path: ``run.stopping`` is read through ``self.run`` where mypy would
        # otherwise take it as still False after a check, and through ``run`` where it is hot.
        while not self.run.stopping:
            turn += 1
            if turn % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # as a pump does: never starve the event loop
            item = upstream.get_nowait()
            if item is EMPTY:
                item = await upstream.get()
            if item is END or self.run.stopping:
                break
            stats.items_in += 1
            stats.calls += 1
            inline = True
            answers: list[Any] = []  # fork: one per branch, the common case
            lists: list[list[Any]] | None = None  # fork: every branch's answers, once one gave several or none
            for stages in fused:
                value = item  # the common case: one value from stage to stage, no list
                several: list[Any] | None = None
                for stage in stages:
                    if several is None:
                        ready = stage.ready
                        suspended = stage._start(value, 1)
                        if suspended is None and len(ready) == 1 and not stage.pending_weight:
                            value = ready.popleft()
                            if run.stopping:  # a call failed the run: no further call starts
                                return
                            continue
                        done: list[Any] | tuple[Any, list[Any]] = (
                            (suspended, []) if suspended is not None or stage.pending_weight else _taken(ready)
                        )
                    else:
                        done = _inline(stage, several)
                    if isinstance(done, tuple):
                        inline = False
                        several = await _finish(stage, done)
                    else:
                        several = done
                    if run.stopping:
                        return
                if fork:
                    if several is None:
                        answers.append(value)
                        if lists is not None:
                            lists.append([value])
                    else:
                        if lists is None:
                            lists = [[answer] for answer in answers]  # the branches before this one
                        lists.append(several)
                elif several is None:
                    ready_out.append(value)  # fan: the item's outputs, branch by branch
                else:
                    ready_out.extend(several)
            stats.finished_calls += 1
            if fork:
                if lists is None:
                    ready_out.append(tuple(answers))
                else:
                    self._pair(item, lists)
            reader = self._reader  # wake_reader(), inlined: once per item
            if reader is not None and not reader.done():
                reader.set_result(None)
            if len(ready_out) >= window:
                await self._room_in_ready()
            if not inline and not run.stopping:
                self._switch()
                await self._feed()  # the rest of the stream, the usual way
                return
        if run.stopping:
            return
        self.fed_all = True
        self.ended = [True] * len(self.ended)
        self.wake_reader()

    def _pair(self, item: Any, parts: list[list[Any]]) -> None:
        """A fork's item where a branch gave several answers or none."""
        if any(len(answers) > 1 for answers in parts):
            # Fails the run when the consumer reaches it, after the pairs before it, as
            # the usual way does.
            self.ready.append(_Unpairable(item, parts))
            return
        pair = self._paired(item, parts)  # none: skipped, counted and logged there
        if pair is not None:
            self.ready.append(pair)

    def _switch(self) -> None:
        """From the next item on, the branches run the usual way."""
        assert self.fused is not None
        self.fusing = False
        for stages in self.fused:
            for stage, following in zip(stages, [*stages[1:], None]):
                stage.tracking = self.tracking
                stage.downstream = following
        self._start_branches()

    def _next_fused(self) -> Any:
        """The outlet, in input order: what the feeder handed on, then (after a switch) the usual way."""
        if self.ready:
            item = self.ready.popleft()
            room = self._main_room
            if room is not None and not room.done():
                room.set_result(None)
            if type(item) is _Unpairable:
                self._paired(item.item, item.parts)  # fails the run with the BranchShapeError
                return END
            return self._out(item)
        if self.fusing:
            return END if self.fed_all else EMPTY
        return self._in_order()


class _Unpairable:
    """A fork's item that a branch gave several answers for, waiting for its turn."""

    __slots__ = ("item", "parts")

    def __init__(self, item: Any, parts: list[list[Any]]) -> None:
        self.item = item
        self.parts = parts


def _inline(stage: Stage, values: list[Any]) -> list[Any] | tuple[Any, list[Any]]:
    """The outputs of the stage's calls on ``values``, when every call completed inline;
    otherwise what ``_finish`` needs: the call that suspended (or None: one is waiting
    in the stage, such as a retry) and the values not started yet."""
    for index, value in enumerate(values):
        if stage.run.stopping:  # a call failed the run: no further call starts
            return []
        suspended = stage._start(value, 1)
        if suspended is not None:
            return suspended, values[index + 1:]
    if stage.pending_weight:
        return None, []
    return _taken(stage.ready)


def _taken(ready: deque[Any]) -> list[Any]:
    outputs = list(ready)
    ready.clear()
    return outputs


async def _finish(stage: Stage, waiting: tuple[Any, list[Any]]) -> list[Any]:
    """The slow way through a stage: finish what suspended, in this task, then the rest."""
    suspended, rest = waiting
    if suspended is not None:
        await stage._continue(suspended)
    for value in rest:
        if stage.run.stopping:
            break
        suspended = stage._start(value, 1)
        if suspended is not None:
            await stage._continue(suspended)
    while stage.pending_weight and not stage.run.stopping:
        await stage._pump_wait()  # woken when the stage's last call ends (its _finish)
    return _taken(stage.ready)
