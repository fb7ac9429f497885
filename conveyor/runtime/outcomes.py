"""Turning one call's result into output items, and the failure path of a call.

Return-value rules (decided, documented in docs/tasks.md):
- single task: the value is one item; ``None`` drops it; a list is ONE item;
- batch task: a list fans out into its elements; any other value is one item;
  ``None`` emits nothing;
- generator functions (either kind): every yielded value is an item.
``None`` never travels downstream: wherever it would, it is dropped.
An awaitable where an item is expected (a forgotten ``await``) fails the call.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from types import GeneratorType
from typing import Any

from conveyor.errors import ItemTypeError
from conveyor.invoke import CallShape
from conveyor.policy import short_repr
from conveyor.task import Task

__all__ = ["NEVER_AWAITABLE", "Interpreter", "interpreter_for", "describe_input", "failure_note", "log"]

log = logging.getLogger("conveyor")

#: Maps one call's (already awaited / collected) result to its output items.
Interpreter = Callable[[Any], list[Any]]

# Types whose values are never awaitable, learned once per type: the hot path pays one
# set membership test per item. Common item types are known up front.
NEVER_AWAITABLE: set[type] = {int, float, str, bytes, bool, dict, list, tuple, set, frozenset, complex}
_MAX_LEARNED = 4096  # classes made at run time must not grow the set without end


def _awaitable(value: Any) -> bool:
    tp = type(value)
    if issubclass(tp, Awaitable) or tp is GeneratorType:  # GeneratorType: @types.coroutine
        return inspect.isawaitable(value)
    if len(NEVER_AWAITABLE) < _MAX_LEARNED:
        NEVER_AWAITABLE.add(tp)
    return False


def _forgot_await(task: Task[Any, Any], shape: CallShape, values: list[Any]) -> ItemTypeError:
    """The error for a call whose output holds an awaitable. Its coroutines are closed
    first (they will never run), so no "never awaited" warning follows."""
    culprit = next(value for value in values if _awaitable(value))
    for value in values:
        if inspect.iscoroutine(value):
            value.close()
    verb = "yielded" if shape.fans_out else "returned"
    fix = ("make the function async def and await it" if shape is CallShape.VALUE
           else "await it inside the task (return await ...)")
    return ItemTypeError(
        f"task {task.name!r} {verb} {short_repr(culprit)} where an item was expected: "
        f"did you forget to await? {fix}"
    )


def interpreter_for(task: Task[Any, Any], shape: CallShape) -> Interpreter:
    """The task's return-value rules, failing a call whose output is an awaitable."""
    plain = NEVER_AWAITABLE

    def checked(items: list[Any]) -> list[Any]:
        for value in items:
            if type(value) not in plain and _awaitable(value):
                raise _forgot_await(task, shape, items)
        return items

    def one_item(result: Any) -> list[Any]:
        if result is None:
            return []
        if type(result) not in plain and _awaitable(result):
            raise _forgot_await(task, shape, [result])
        return [result]

    def batch_result(result: Any) -> list[Any]:
        if isinstance(result, list):
            return checked([x for x in result if x is not None])
        return one_item(result)

    def yielded(results: list[Any]) -> list[Any]:
        return checked([x for x in results if x is not None])

    if shape.fans_out:
        return yielded
    return batch_result if task.kind == "batch" else one_item


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
