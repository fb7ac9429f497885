"""Resolving a task's side inputs once per run, before its first item."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from conveyor.executors import Session, is_inline
from conveyor.side_inputs import OnceAwaitable, SideInput, SideInputKind
from conveyor.policy import short_repr
from conveyor.task import Task
from conveyor.typecheck import value_problem
from conveyor.typerules import type_repr

__all__ = ["prepare_call"]


async def prepare_call(task: Task[Any, Any], sessions: list[Session]) -> Callable[[Any], Any]:
    """The task's one-argument callable for this run, side inputs applied; a task with
    an executor opens its session here (added to the run's ``sessions``)."""
    positional: list[tuple[str, Any]] = []
    keywords: dict[str, Any] = {}
    for name, side in task.side_inputs.items():
        if side.kind is SideInputKind.PER_WORKER:
            value = _per_worker(task, side, sessions)
        else:
            value = await _resolve(task, side)
        param = task.signature.side_param(name)
        if param is not None and param.positional_only:
            positional.append((name, value))
        else:
            keywords[name] = value
    if not is_inline(task.executor):
        from conveyor.runtime.offload import offloaded_call

        return await offloaded_call(task, positional, keywords, sessions)
    values = [value for _, value in positional]
    if task.is_source:
        source_call = task.invoker.prepare_source(values, keywords)
        return lambda _no_item: source_call()
    return task.invoker.prepare(values, keywords)


def _per_worker(task: Task[Any, Any], side: SideInput, sessions: list[Session]) -> Any:
    from conveyor.runtime.per_worker import per_worker_value  # only for tasks that have one

    try:
        return per_worker_value(task, side, sessions)
    except Exception as exc:
        exc.add_note(f"conveyor: while making side input {side.param!r} ({side.label}) of task {task.name!r} "
                     f"(defined at {task.defined_at})")
        raise


# The side inputs being resolved by the work that led here. A run started while one is
# resolved inherits it (tasks copy the context), so a side input whose value needs a
# run of its own task is seen at once instead of waiting for itself forever. Each entry
# is a one-item list emptied when its resolution ends: a task that outlives it (one the
# side input's coroutine left running) must not see a cycle that is over.
_RESOLVING: ContextVar[tuple[list[SideInput], ...]] = ContextVar("conveyor_resolving", default=())


async def _resolve(task: Task[Any, Any], side: SideInput) -> Any:
    if side.kind is SideInputKind.VALUE:
        return side.source  # nothing to wait for, so no cycle to find
    chain = _RESOLVING.get()
    if any(entry and entry[0] is side for entry in chain):
        raise RuntimeError(
            f"side input {side.param!r} ({side.label}) of task {task.name!r} depends on itself: "
            f"computing it runs a pipeline with this very task and side input, which would wait "
            f"for itself forever; give it a value that does not come from that pipeline"
        )
    entry = [side]
    token = _RESOLVING.set((*chain, entry))
    try:
        return await _value_of(task, side)
    except Exception as exc:
        note = (
            f"conveyor: while resolving side input {side.param!r} ({side.label}) of task "
            f"{task.name!r} (defined at {task.defined_at})"
        )
        if note not in getattr(exc, "__notes__", ()):  # a shared awaitable's error is raised per run
            exc.add_note(note)
        raise
    finally:
        entry.clear()
        _RESOLVING.reset(token)


async def _value_of(task: Task[Any, Any], side: SideInput) -> Any:
    if side.kind is SideInputKind.VALUE:
        return side.source
    if side.kind is SideInputKind.AWAITABLE:
        once: OnceAwaitable = side.source
        value = await once.get()
        problem = value_problem(value, side.annotation)
        if problem is not None:
            raise TypeError(f"the awaitable side input {side.param!r} gave {short_repr(value)}, "
                            f"which is not {type_repr(side.annotation)}: {problem}")
        return value
    if side.kind is SideInputKind.STREAM:
        if side.source.started:
            raise RuntimeError(
                "this Stream was already (partly) consumed, so it cannot feed a side input; "
                "pass the pipeline itself (run once per run) or a fresh stream"
            )
        items = await side.source.collect()
    else:
        items = await side.source().collect()
    if side.all_items:
        return items
    if len(items) != 1 and side.spelling is not None:
        raise ValueError(
            f"side input {side.param!r} of task {task.name!r} is {side.spelling}, which takes exactly "
            f"one item, but its {side.kind.value} produced {len(items)}; use .as_list() to receive all items"
        )
    if len(items) != 1:
        raise ValueError(
            f"side input {side.param!r} of task {task.name!r} is not annotated as a list or "
            f"sequence, so it takes exactly one item, but its {side.kind.value} produced {len(items)}; "
            f"annotate the parameter as list[...] to receive all items"
        )
    return items[0]
