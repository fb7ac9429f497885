"""The outlet of a running branching step: how it hands its branches' outputs on.

As they come (as_completed, tee, merge), or in input order: for each item, branch by
branch (fan), from the branch it was routed to (route), or one answer from every
branch, paired (fork). In input order the outlet follows the items by what the
branches say of where each item's outputs end (runtime/groups.py), and a step
nested in an ordered branch says the same of its own outputs.

A mixin of ``BranchNode`` (runtime/branch_nodes.py), whose attributes it declares
below; the feeder and the collectors there fill ``held`` and ``ready``.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from conveyor.errors import BranchShapeError
from conveyor.policy import short_repr
from conveyor.runtime.groups import BOUNDARY, NOTHING, Leading, encode_group
from conveyor.runtime.inputs import EMPTY, END
from conveyor.runtime.outcomes import log
from conveyor.runtime.stats import StageStats

if TYPE_CHECKING:
    from conveyor.combinators import Combinator
    from conveyor.runtime.scheduler import Run

__all__ = ["BranchOutlet", "wake"]


class BranchOutlet:
    """``get_nowait`` of a branching step (the attributes below are the node's)."""

    if TYPE_CHECKING:
        run: Run
        step: Combinator
        kind: str
        stats: StageStats
        in_order: bool
        tracked: bool
        held: list[deque[Any]]
        ready: deque[Any]
        ended: list[bool]
        fed_all: bool
        routes: deque[int]
        inputs: deque[Any]
        branch: int
        parts: list[list[Any]]
        waiting_on: int | None
        marks: deque[int]
        group: list[Any]
        encoded: deque[Any]
        done_items: int
        fresh: bool
        _in_order: Callable[[], Any]
        _room: asyncio.Future[None] | None
        _main_room: asyncio.Future[None] | None

        def _wake_collectors(self) -> None: ...

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
            wake(self._main_room)
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


def wake(waiter: asyncio.Future[None] | None) -> None:
    if waiter is not None and not waiter.done():
        waiter.set_result(None)
