"""Opt-in run-time item checks with typeguard, at stage boundaries.

``off`` (default): nothing is checked. ``sample``: the first SAMPLE_FIRST outputs of
each stage, then one in SAMPLE_EVERY, so the cost stays bounded on long streams.
``all``: every output. An item that does not match the type on its stage's outgoing
edge counts as a failure of the stage that produced it, so its on_error policy applies.
The pipeline's input data is checked the same way against the first stage's input
type; a bad input item fails the run, naming its position in the data.
"""

from __future__ import annotations

import os
from typing import Any, Final, Literal, get_args

from conveyor.errors import ItemTypeError
from conveyor.options import check_choice
from conveyor.policy import short_repr
from conveyor.stage_types import NOTHING
from conveyor.task import Task
from conveyor.typerules import has_typevars, type_repr

__all__ = ["CheckItems", "ENV_VAR", "InputChecker", "ItemChecker", "checker_for", "input_checker_for", "resolve_mode"]

CheckItems = Literal["off", "sample", "all"]
ENV_VAR: Final = "CONVEYOR_CHECK_ITEMS"
SAMPLE_FIRST: Final = 32
SAMPLE_EVERY: Final = 1000
_MODES: Final = get_args(CheckItems)


def resolve_mode(mode: CheckItems | None, owner: str = "conveyor") -> CheckItems:
    """The explicit mode, else $CONVEYOR_CHECK_ITEMS, else off (errors start with ``owner``)."""
    if mode is not None:
        return check_choice(owner, "check_items", mode, _MODES)  # type: ignore[return-value]  # a member
    chosen = os.environ.get(ENV_VAR) or "off"
    if chosen not in _MODES:
        raise ValueError(f"{ENV_VAR}={chosen!r} is not an item-check mode; use one of {', '.join(map(repr, _MODES))}")
    return chosen  # type: ignore[return-value]  # membership checked above


class ItemChecker:
    """Checks one stage's outputs against the type of its outgoing edge."""

    __slots__ = ("task", "expected", "sample", "seen", "_check", "_error")

    def __init__(self, task: Task[Any, Any], expected: Any, *, sample: bool) -> None:
        from typeguard import TypeCheckError, check_type  # only when checks are on: not with conveyor

        self._check = check_type
        self._error = TypeCheckError
        self.task = task
        self.expected = expected
        self.sample = sample
        self.seen = 0

    def __call__(self, outputs: list[Any]) -> None:
        for value in outputs:
            self.seen += 1
            if self.sample and self.seen > SAMPLE_FIRST and self.seen % SAMPLE_EVERY:
                continue
            try:
                self._check(value, self.expected)
            except self._error as exc:
                raise ItemTypeError(
                    f"task {self.task.name!r} produced {short_repr(value)}, which is not "
                    f"{type_repr(self.expected)} (the type on its outgoing edge): {exc}"
                ) from None


class InputChecker:
    """Checks the pipeline's input data against its first stage's input type: a bad
    item is blamed on the data, with its position, not on a stage's output."""

    __slots__ = ("first", "expected", "sample", "seen", "_check", "_error")

    def __init__(self, first: str, expected: Any, *, sample: bool) -> None:
        from typeguard import TypeCheckError, check_type  # only when checks are on: not with conveyor

        self._check = check_type
        self._error = TypeCheckError
        self.first = first  # the first stage's name
        self.expected = expected
        self.sample = sample
        self.seen = 0

    def __call__(self, item: Any) -> None:
        self.seen += 1
        if self.sample and self.seen > SAMPLE_FIRST and self.seen % SAMPLE_EVERY:
            return
        try:
            self._check(item, self.expected)
        except self._error as exc:
            raise ItemTypeError(
                f"input item #{self.seen} of the pipeline's data (index {self.seen - 1}): "
                f"{short_repr(item)} is not {type_repr(self.expected)}, the type the first stage "
                f"{self.first!r} takes ({exc}); fix the data, or that stage's annotation"
            ) from None


def input_checker_for(first: str | None, input_type: Any, mode: CheckItems) -> InputChecker | None:
    """The check of the input data, or None (checks off, no stage, or nothing to check)."""
    if mode == "off" or first is None or not _checkable(input_type):
        return None
    return InputChecker(first, input_type, sample=mode == "sample")


def _checkable(edge_type: Any) -> bool:
    return not (edge_type is Any or edge_type is NOTHING or has_typevars(edge_type))


def checker_for(task: Task[Any, Any], edge_type: Any, mode: CheckItems) -> ItemChecker | None:
    if mode == "off" or not _checkable(edge_type):
        return None
    return ItemChecker(task, edge_type, sample=mode == "sample")
