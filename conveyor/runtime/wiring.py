"""Building a run's stages from a pipeline's steps: chains of stages, and branching
steps whose branches are chains again (any depth)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from conveyor.combinators import Combinator
from conveyor.runtime.branch_nodes import BranchNode
from conveyor.dead_letters import branch_key, dead_letter_branches as branches_of, dead_letter_path
from conveyor.runtime.checks import checker_for
from conveyor.runtime.dead_letters import DeadLetterInlet, DeadLetterOutlet
from conveyor.runtime.inputs import Input, Outlet, open_input
from conveyor.runtime.stage import Stage
from conveyor.runtime.stats import StageStats
from conveyor.typecheck import Junction

if TYPE_CHECKING:
    from conveyor.runtime.scheduler import Run

__all__ = ["Wiring"]


class Wiring:
    """Builds the stages of one run; remembers what the run must release and close."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.stages: list[Stage] = []
        self.inputs: list[Input] = []  # merge's data sources, closed with the run's input
        self._rows = iter(run.stats.stages)  # one per step, in the order they are built
        # One inlet per distinct dead-letter branch; the branches are built last (their rows come last).
        self._letters = {
            branch_key(branch): (branch, DeadLetterInlet(run, _window(run))) for branch in branches_of(run.pipeline)
        }

    def chain(
        self,
        steps: Sequence[Any],
        outlet: Outlet,
        junctions: Sequence[Junction],
        *,
        ordered: bool,
        tracking: bool = False,
        path: tuple[str, ...] = (),
        pumps: bool = True,
    ) -> Outlet:
        """Stages for ``steps`` reading ``outlet``; returns the last one's outlet. Without
        ``pumps`` the stages wait for their branching step to start them (or to run them)."""
        options = self.run.options
        previous: Stage | None = None
        for index, step in enumerate(steps):
            if isinstance(step, Combinator):
                outlet = self._branching(step, outlet, junctions[index], ordered=ordered, tracked=tracking, path=path)
                previous = None
                continue
            stats = self._stats(step.name)
            stage = Stage(
                self.run, step, outlet,
                ordered=ordered,
                max_in_flight=options.max_in_flight,
                checker=checker_for(step, junctions[index + 1].produced, options.check_items),
                stats=stats,
                tracking=tracking,
                path=" > ".join(path),
            )
            if step.dead_letters is not None:
                stage.dead_letters = self._letters[branch_key(step.dead_letters)][1]
            if pumps:
                self.run.spawn(stage.pump())
            if previous is not None:
                previous.downstream = stage  # carrying items on works within a chain
            self.stages.append(stage)
            outlet = previous = stage
        return outlet

    def dead_letter_branches(self, main: Outlet) -> Outlet:
        """Build the dead-letter branches after everything else; the consumer's outlet
        then ends only after they have (``main`` itself when there are none)."""
        if not self._letters:
            return main
        ends = [
            self.chain(branch.stages, inlet, branch.junctions, ordered=self.run.options.ordered,
                       path=(dead_letter_path(branch),))
            for branch, inlet in self._letters.values()
        ]
        outlet = DeadLetterOutlet(self.run, main, [inlet for _, inlet in self._letters.values()], ends)
        outlet.start()
        return outlet

    def _branching(
        self, step: Combinator, upstream: Outlet, junction: Junction, *,
        ordered: bool, tracked: bool, path: tuple[str, ...],
    ) -> BranchNode:
        stats = self._stats(step.name)
        window = self.run.options.max_in_flight
        flows = junction.branches or tuple(b.junctions for b in step.branches)

        def build(index: int, inlet: Outlet, tracking: bool, branch_ordered: bool) -> Outlet:
            branch = step.branches[index]
            return self.chain(
                branch.stages, inlet, flows[index],
                ordered=branch_ordered, tracking=tracking, path=(*path, step.branch_path(index)), pumps=False,
            )

        sources = self._merge_sources(step, flows, ordered, path) if step.kind == "merge" else None
        node = BranchNode(
            self.run, step, upstream,
            ordered=ordered, window=window if window is not None else float("inf"),
            stats=stats, build=build, sources=sources, tracked=tracked,
        )
        node.start()
        return node

    def _merge_sources(
        self, step: Combinator, flows: Sequence[Sequence[Junction]], ordered: bool, path: tuple[str, ...]
    ) -> list[Outlet]:
        ends: list[Outlet] = []
        for index, branch in enumerate(step.branches):
            if index in step.data:
                data_input = open_input(step.data[index], source=False)
                self.inputs.append(data_input)
                ends.append(data_input)
                continue
            source = open_input(None, source=True)
            ends.append(self.chain(branch.stages, source, flows[index], ordered=ordered,
                                   path=(*path, step.branch_path(index))))
        return ends

    def _stats(self, name: str) -> StageStats:
        """The next row of the run's figures: steps are built in ``pipeline.tasks()`` order."""
        stats = next(self._rows)
        assert stats.name == name, f"conveyor internal error: figures for {stats.name!r}, built {name!r}"
        return stats


def _window(run: Run) -> float:
    window = run.options.max_in_flight
    return window if window is not None else float("inf")
