"""Turning one call's result into output items, and the failure path of a call.

Return-value rules (decided, documented in docs/tasks.md):
- single task: the value is one item; ``None`` drops it; a list is ONE item;
- batch task: a list fans out into its elements; any other value is one item;
  ``None`` emits nothing;
- generator functions (either kind): every yielded value is an item.
``None`` never travels downstream: wherever it would, it is dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from conveyor.invoke import CallShape
from conveyor.policy import short_repr
from conveyor.task import Task

__all__ = ["Interpreter", "interpreter_for", "describe_input", "failure_note", "log"]

log = logging.getLogger("conveyor")

#: Maps one call's (already awaited / collected) result to its output items.
Interpreter = Callable[[Any], list[Any]]


def _one_item(result: Any) -> list[Any]:
    return [] if result is None else [result]


def _batch_result(result: Any) -> list[Any]:
    if result is None:
        return []
    if isinstance(result, list):
        return [x for x in result if x is not None]
    return [result]


def _yielded(results: list[Any]) -> list[Any]:
    return [x for x in results if x is not None]


def interpreter_for(task: Task[Any, Any], shape: CallShape) -> Interpreter:
    if shape.fans_out:
        return _yielded
    return _batch_result if task.kind == "batch" else _one_item


def describe_input(task: Task[Any, Any], item: Any) -> str:
    if task.is_source:
        return "its source call"
    if task.kind == "batch":
        return f"a batch of {len(item)} item(s) {short_repr(item)}"
    return f"item {short_repr(item)}"


def failure_note(task: Task[Any, Any], item: Any, attempt: int) -> str:
    return (
        f"conveyor: task {task.name!r} (defined at {task.defined_at}) failed on "
        f"{describe_input(task, item)} (attempt {attempt} of {task.policy.retry.attempts})"
    )
