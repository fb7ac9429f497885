"""One running branching step (fan, fork, route, tee, merge).

Shape at run time:
- a *feeder* task pulls items from upstream and puts each into the inlet of every
  branch it goes to (one, for route). An inlet holds at most ``max_in_flight`` items,
  so a slow branch holds back the feeder and so the source: no queue grows with the
  length of the stream;
- each branch is a chain of ordinary stages reading its inlet;
- a *collector* task per branch pulls the branch's outputs into ``held[b]``;
- the step's outlet (``get``, runtime/branch_outlet.py) hands the outputs on: as they come (as_completed, tee,
  merge), or in input order. For input order the branches say where each item's
  outputs end (runtime/groups.py: free when each item gives one output), so the
  outlet can follow the items one by one: for each item, branch by branch (fan), the
  branch it was routed to (route), or one answer from every branch, paired (fork).
  Nested in an ordered branch itself, the step says the same of its own outputs.

A collector pauses when its branch is ``max_in_flight`` outputs ahead, unless the
outlet is waiting on another branch: then holding back would only deadlock, and the
feeder (bounded by the slow branch's inlet) already bounds how far it can get.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from conveyor.combinators import NO_ROUTE, Combinator
from conveyor.errors import NoRouteError
from conveyor.policy import short_repr
from conveyor.runtime.branch_outlet import BranchOutlet, wake
from conveyor.runtime.fused import Fused, chain_of
from conveyor.runtime.groups import NOTHING, Leading
from conveyor.runtime.inputs import EMPTY, END, Outlet, WaitingOutlet
from conveyor.runtime.stage import Stage
from conveyor.runtime.stats import StageStats

if TYPE_CHECKING:
    from conveyor.runtime.scheduler import Run

__all__ = ["BranchNode", "Inlet", "ChainBuilder"]

#: Builds one branch: (its index, its inlet, whether it must say where each item's
#: outputs end, whether it keeps input order) -> the outlet of its last stage. Its
#: stages' pumps are the node's to start (or the node runs them: runtime/fused.py).
ChainBuilder = Callable[[int, Outlet, bool, bool], Outlet]


class Inlet(WaitingOutlet):
    """A bounded buffer feeding one branch; the branch's first stage pulls from it."""

    __slots__ = ("run", "items", "capacity", "closed", "_reader", "_writer")

    def __init__(self, run: Run, capacity: float) -> None:
        self.run = run
        self.items: deque[Any] = deque()
        self.capacity = capacity
        self.closed = False
        self._reader: asyncio.Future[None] | None = None
        self._writer: asyncio.Future[None] | None = None

    def get_nowait(self) -> Any:
        if self.items:
            item = self.items.popleft()
            if self._writer is not None:
                wake(self._writer)
            return item
        return END if self.closed else EMPTY

    async def put(self, item: Any) -> None:
        while len(self.items) >= self.capacity and not self.run.stopping:
            self._writer = self.run.loop.create_future()
            try:
                await self._writer
            finally:
                self._writer = None
        self.put_nowait(item)

    def put_nowait(self, item: Any) -> None:
        self.items.append(item)
        if self._reader is not None:
            wake(self._reader)

    def close(self) -> None:
        self.closed = True
        wake(self._reader)


class BranchNode(Fused, BranchOutlet, WaitingOutlet):
    """A branching step's feeder, branches and outlet."""

    def __init__(
        self,
        run: Run,
        combinator: Combinator,
        upstream: Outlet,
        *,
        ordered: bool,
        window: float,
        stats: StageStats,
        build: ChainBuilder,
        sources: list[Outlet] | None = None,
        tracked: bool = False,
    ) -> None:
        self.run = run
        self.step = combinator
        self.kind = combinator.kind
        self.upstream = upstream
        self.stats = stats
        self.window = window
        count = len(combinator.branches)
        # fork pairs answers item by item, so its branches always keep input order.
        self.in_order = ordered if self.kind != "fork" else True
        self.tracking = self.in_order and self.kind in ("fan", "fork", "route")
        self.inlets = [Inlet(run, window) for _ in range(count)] if sources is None else []
        self.ends: list[Outlet] = (
            [build(b, self.inlets[b], self.tracking, self.in_order) for b in range(count)]
            if sources is None else sources
        )
        self.held: list[deque[Any]] = [deque() for _ in range(count)]
        self.ready: deque[Any] = deque()  # outputs in arrival order (as_completed, tee, merge)
        self.ended = [False] * count
        self.fed_all = sources is not None  # merge has no feeder
        self.routes: deque[int] = deque()  # ordered route: which branch each item went to
        self.inputs: deque[Any] = deque()  # fork: the items whose answers are awaited
        self.branch = 0  # ordered fan / fork: the branch the outlet is reading for this item
        self.parts: list[list[Any]] = [[] for _ in range(count)]  # fork: answers so far
        self.waiting_on: int | None = None
        # Nested in an ordered branch (``tracked``), this step keeps saying where each
        # outer item's outputs end: ``marks`` holds, for each outer item, how many
        # items had been fed when it ended; ``group`` gathers the outputs of the outer
        # item being handed on, ``encoded`` what is ready of them (runtime/groups.py).
        self.tracked = tracked
        self.marks: deque[int] = deque()
        self.group: list[Any] = []
        self.encoded: deque[Any] = deque()
        self.fed = 0  # items fed to the branches
        self.done_items = 0  # items whose outputs the outlet has handed on in full
        self.fresh = True  # nothing of the current item handed on yet
        self._reader: asyncio.Future[None] | None = None
        self._room: asyncio.Future[None] | None = None  # paused collectors wait on it
        self._main_room: asyncio.Future[None] | None = None  # tee's feeder waits on it
        self.chains = [chain_of(end, inlet) for end, inlet in zip(self.ends, self.inlets)]
        self._fuse(self.chains)  # branches whose calls complete inline: the feeder runs them
        order = {"fan": self._next_fan, "route": self._next_routed, "fork": self._next_pair}
        self._in_order: Callable[[], Any] = order.get(self.kind, self._next_ready)
        ordered_fused = self.fusing and self.in_order
        self.get_nowait = self._next_fused if ordered_fused else self._outlet()  # type: ignore[method-assign]

    def start(self) -> None:
        if self.fusing:
            self.run.spawn(self._guarded(self._feed_fused))
            return
        if self.kind != "merge":
            self.run.spawn(self._guarded(self._feed))
        self._start_branches()

    def _start_branches(self) -> None:
        """The branches' own tasks: their stages' pumps (nested steps start themselves), collectors."""
        for chain in self.chains:
            for element in chain:
                if isinstance(element, Stage):
                    self.run.spawn(element.pump())
        for b in range(len(self.ends)):
            self.run.spawn(self._guarded(self._collect, b))

    async def _guarded(self, work: Callable[..., Coroutine[Any, Any, None]], *args: Any) -> None:
        """What the pulls raise is the user's (the input data, a merged source): it
        fails the run as it is, like a stage's pump does; it is no internal error."""
        try:
            await work(*args)  # made here, so a task cancelled before it starts leaves no coroutine behind
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.run.fail(exc)
        except BaseException as exc:  # KeyboardInterrupt & co. stop the run, and the loop sees them
            self.run.fail(exc)
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise

    # -- feeding ---------------------------------------------------------------------------

    async def _feed(self) -> None:
        upstream = self.upstream
        tee = self.kind == "tee"
        while not self.run.stopping:
            item = upstream.get_nowait()
            if item is EMPTY:
                item = await upstream.get()
            if item is END or self.run.stopping:
                break
            # Nested in an ordered branch, the input says where each outer item ends;
            # tee's main line goes on as it came, the others note the ends (marks).
            value, ends_outer = item, False
            if self.tracked:
                if item is NOTHING:
                    if tee:
                        await self._tee_main(item)
                    else:
                        self._outer_end()
                    continue
                if type(item) is Leading:
                    value = item.value
                else:
                    ends_outer = not tee
            self.stats.items_in += 1
            self.stats.calls += 1
            try:
                await self._dispatch(value)
            except Exception as exc:  # a router raised, or no branch takes the item
                exc.add_note(f"conveyor: {self.step.kind} at {self.step.defined_at}, on item {short_repr(value)}")
                self.run.fail(exc)
                return
            self.stats.finished_calls += 1
            if tee:
                await self._tee_main(item)
            elif ends_outer:
                self._outer_end()
        if self.run.stopping:
            return
        for inlet in self.inlets:
            inlet.close()
        self.fed_all = True
        self.wake_reader()

    def _outer_end(self) -> None:
        self.marks.append(self.fed)
        self.wake_reader()

    async def _dispatch(self, item: Any) -> None:
        self.fed += 1
        if self.kind == "route":
            await self._route(item)
            return
        if self.kind == "fork":
            self.inputs.append(item)
        for inlet in self.inlets:
            if len(inlet.items) >= inlet.capacity:
                await inlet.put(item)  # full: this branch holds the feeder (and the source) back
            else:
                inlet.put_nowait(item)

    async def _tee_main(self, item: Any) -> None:
        await self._room_in_ready()
        self.ready.append(item)
        self.wake_reader()

    async def _room_in_ready(self) -> None:
        """Wait while ``max_in_flight`` outputs wait to be pulled (the outlet wakes ``_main_room``)."""
        while len(self.ready) >= self.window and not self.run.stopping:
            self._main_room = self.run.loop.create_future()
            try:
                await self._main_room
            finally:
                self._main_room = None

    async def _route(self, item: Any) -> None:
        router = self.step.router
        assert router is not None
        index = router(item)
        if index == NO_ROUTE:
            raise NoRouteError(
                f"no branch of route at {self.step.defined_at} ({self.step.rule}) takes item "
                f"{short_repr(item)}; give the route a default branch (otherwise= / default=) for "
                f"the rest: items are never dropped silently"
            )
        if self.tracking:
            self.routes.append(index)
            self.wake_reader()
        await self.inlets[index].put(item)

    # -- collecting ------------------------------------------------------------------------

    async def _collect(self, b: int) -> None:
        end = self.ends[b]
        held = self.held[b]
        shared = not self.in_order or self.kind in ("tee", "merge")
        target = self.ready if shared else held
        drain_only = self.kind == "tee"  # a side branch's outputs are drained; its stages count them
        run, window = self.run, self.window
        while not run.stopping:
            item = end.get_nowait()
            if item is EMPTY:
                item = await end.get()
            if item is END or run.stopping:
                break
            if drain_only:
                continue
            target.append(item)
            if self._reader is not None:
                wake(self._reader)
            if len(target) < window:  # the common case: room, no pause to consider
                continue
            while self._should_pause(b, shared) and not run.stopping:
                if self._room is None or self._room.done():
                    self._room = self.run.loop.create_future()
                await self._room
        if self.run.stopping:
            return
        self.ended[b] = True
        self.wake_reader()

    def _should_pause(self, b: int, shared: bool) -> bool:
        if shared:
            return len(self.ready) >= self.window
        return len(self.held[b]) >= self.window and self.waiting_on in (None, b)

    def _wake_collectors(self) -> None:
        wake(self._room)
        self._room = None  # woken once; a collector that pauses again makes a new one

    def __repr__(self) -> str:
        return f"<BranchNode {self.step.name} held={[len(h) for h in self.held]} ready={len(self.ready)}>"
