"""One running branching step (fan, fork, route, tee, merge).

Shape at run time:
- a *feeder* task pulls items from upstream and puts each into the inlet of every
  branch it goes to (one, for route). An inlet holds at most ``max_in_flight`` items,
  so a slow branch holds back the feeder and so the source: no queue grows with the
  length of the stream;
- each branch is a chain of ordinary stages reading its inlet;
- a *collector* task per branch pulls the branch's outputs into ``held[b]``;
- the step's outlet (``get``) hands the outputs on: as they come (as_completed, tee,
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
from conveyor.errors import BranchShapeError, NoRouteError
from conveyor.policy import short_repr
from conveyor.runtime.groups import BOUNDARY, NOTHING, Leading, encode_group
from conveyor.runtime.inputs import EMPTY, END, Outlet, WaitingOutlet
from conveyor.runtime.outcomes import log
from conveyor.runtime.stats import StageStats

if TYPE_CHECKING:
    from conveyor.runtime.scheduler import Run

__all__ = ["BranchNode", "Inlet", "ChainBuilder"]

#: Builds one branch: (its index, its inlet, whether it must say where each item's
#: outputs end, whether it keeps input order) -> the outlet of its last stage.
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
                _wake(self._writer)
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
            _wake(self._reader)

    def close(self) -> None:
        self.closed = True
        _wake(self._reader)


class BranchNode(WaitingOutlet):
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
        order = {"fan": self._next_fan, "route": self._next_routed, "fork": self._next_pair}
        self._in_order: Callable[[], Any] = order.get(self.kind, self._next_ready)
        self.get_nowait = self._outlet()  # type: ignore[method-assign]

    def start(self) -> None:
        if self.kind != "merge":
            self.run.spawn(self._guarded(self._feed))
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
        while len(self.ready) >= self.window and not self.run.stopping:
            self._main_room = self.run.loop.create_future()
            try:
                await self._main_room
            finally:
                self._main_room = None
        self.ready.append(item)
        self.wake_reader()

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
                _wake(self._reader)
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
        _wake(self._room)
        self._room = None  # woken once; a collector that pauses again makes a new one

    # -- the outlet ------------------------------------------------------------------------

    def _outlet(self) -> Callable[[], Any]:
        """What ``get_nowait`` is for this step, chosen once (it runs once per output)."""
        if self.kind in ("tee", "merge") or not self.in_order:
            return self._next_ready
        return self._next_encoded if self.tracked else self._in_order

    def _next_encoded(self) -> Any:
        """Nested in an ordered branch: the outputs of each outer item, gathered until
        it ends (a BOUNDARY from ``_in_order``), then said as runtime/groups.py says."""
        while not self.encoded:
            item = self._in_order()
            if item is EMPTY or item is END:
                return item
            if item is BOUNDARY:
                self.encoded.extend(encode_group(self.group))
                self.group = []
            else:
                self.group.append(item)
        return self.encoded.popleft()

    def _all_done(self) -> bool:
        return self.fed_all and all(self.ended)

    def _next_ready(self) -> Any:
        if self.ready:
            item = self.ready.popleft()
            self._wake_collectors()
            _wake(self._main_room)
            return self._out(item)
        return END if self._all_done() else EMPTY

    def _pop(self, b: int) -> Any:
        """The next thing branch ``b`` produced, or EMPTY (then the outlet waits on ``b``)."""
        held = self.held[b]
        if held:
            self.waiting_on = None
            item = held.popleft()
            if self._room is not None:
                self._wake_collectors()
            return item
        if self.waiting_on != b:
            self.waiting_on = b
            self._wake_collectors()  # others may run ahead while we wait on b
        return EMPTY

    def _mark_due(self) -> bool:
        """Is an enclosing branch's item due to end before the current item's outputs?"""
        if self.fresh and self.marks and self.marks[0] == self.done_items:
            self.marks.popleft()
            return True
        return False

    def _item_done(self) -> None:
        self.done_items += 1
        self.fresh = True

    def _next_fan(self) -> Any:
        count = len(self.held)
        held = self.held
        while True:
            if self.marks and self._mark_due():
                return BOUNDARY
            queue = held[self.branch]
            if queue:  # _pop, inlined: the per-output path
                self.waiting_on = None
                item = queue.popleft()
                if self._room is not None:
                    self._wake_collectors()
            else:
                item = self._pop(self.branch)
                if item is EMPTY:
                    return END if self._all_done() and not any(held) else EMPTY
            if type(item) is Leading:  # more of this branch's outputs for the item follow
                self.fresh = False
                self.stats.items_out += 1
                return item.value
            self.branch += 1  # this branch is done with the item
            if self.branch == count:
                self.branch = 0
                self.done_items += 1  # _item_done(), inlined: once per item
                self.fresh = True
            elif item is not NOTHING:
                self.fresh = False
            if item is NOTHING:
                continue
            self.stats.items_out += 1
            return item

    def _next_routed(self) -> Any:
        while True:
            if self.marks and self._mark_due():
                return BOUNDARY
            if not self.routes:
                return END if self._all_done() else EMPTY
            item = self._pop(self.routes[0])
            if item is EMPTY:
                return EMPTY
            if type(item) is Leading:
                self.fresh = False
                return self._out(item.value)
            self.routes.popleft()
            self._item_done()
            if item is NOTHING:
                continue
            return self._out(item)

    def _next_pair(self) -> Any:
        pair = self._ready_pair()
        if pair is not None:
            return pair
        count = len(self.held)
        while True:
            if self.branch == 0 and not any(self.parts) and self._mark_due():
                return BOUNDARY
            while self.branch < count:
                item = self._pop(self.branch)
                if item is EMPTY:
                    return END if self._all_done() and not self.inputs else EMPTY
                if type(item) is Leading:
                    self.parts[self.branch].append(item.value)
                    continue
                if item is not NOTHING:
                    self.parts[self.branch].append(item)
                self.branch += 1
            self.branch = 0
            parts, self.parts = self.parts, [[] for _ in range(count)]
            source = self.inputs.popleft()
            self._item_done()
            pair = self._paired(source, parts)
            if pair is not None:
                return self._out(pair)
            if self.run.stopping:
                return END

    def _ready_pair(self) -> tuple[Any, ...] | None:
        """The common case, without building lists: every branch has its one answer
        for the item waiting."""
        if self.branch != 0 or self.parts[0] or self.marks:
            return None
        for queue in self.held:
            if not queue or type(queue[0]) is Leading or queue[0] is NOTHING:
                return None
        pair = tuple([queue.popleft() for queue in self.held])
        self.inputs.popleft()
        self.waiting_on = None
        self._item_done()
        if self._room is not None:
            self._wake_collectors()
        self.stats.items_out += 1
        return pair

    def _paired(self, item: Any, parts: list[list[Any]]) -> tuple[Any, ...] | None:
        for b, answers in enumerate(parts):
            if len(answers) > 1:
                error = BranchShapeError(
                    f"{self.step.branch_path(b)} gave {len(answers)} outputs for item {short_repr(item)}; "
                    f"a fork pairs exactly one answer per branch per item (return one value, e.g. a "
                    f"list, or use fan(...) to merge several outputs)"
                )
                self.run.fail(error)
                return None
        if any(not answers for answers in parts):
            empty = [self.step.labels[b] for b, answers in enumerate(parts) if not answers]
            self.stats.skipped += 1
            log.info(
                "%s: dropped item %s: branch(es) %s gave no answer (filtered or skipped)",
                self.step.name, short_repr(item), ", ".join(map(repr, empty)),
                extra={"task_name": self.step.name},
            )
            return None
        return tuple(answers[0] for answers in parts)

    def _out(self, item: Any) -> Any:
        if item is not NOTHING:  # (tee's main line, nested in an ordered branch)
            self.stats.items_out += 1
        return item

    def __repr__(self) -> str:
        return f"<BranchNode {self.step.name} held={[len(h) for h in self.held]} ready={len(self.ready)}>"


def _wake(waiter: asyncio.Future[None] | None) -> None:
    if waiter is not None and not waiter.done():
        waiter.set_result(None)
