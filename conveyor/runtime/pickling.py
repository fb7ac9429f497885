"""Pickling for worker processes: the pickler process pools use, and a check that
says which part of a value does not pickle.

The check uses multiprocessing's own pickler (what ``ProcessPoolExecutor`` uses),
not dill or cloudpickle: a value those accept (a lambda) still fails in the pool, so
only the pool's own verdict is right. On failure it walks containers and attributes
to the first part that fails on its own, so the note can say ``client.session._lock``
rather than only "cannot pickle '_thread.lock' object".
"""

from __future__ import annotations

import io
import sys
from multiprocessing.reduction import ForkingPickler
from types import FunctionType, MethodType
from typing import Any

__all__ = ["dumps", "check_pickles", "culprit"]

_MAX_DEPTH = 6
_MAX_NODES = 500


class _Pickler(ForkingPickler):
    """The pool's pickler, plus one rule: a decorated function's module-level name is its
    task, so the function pickles as "the function of the task named so" (by reference)."""

    def reducer_override(self, obj: Any) -> Any:
        if type(obj) is FunctionType and _task_named(obj.__module__, obj.__qualname__, obj):
            return task_function, (obj.__module__, obj.__qualname__)
        if type(obj) is MethodType:  # a task declared as a method: its name is the task too
            return MethodType, (obj.__func__, obj.__self__)
        return NotImplemented


def _lookup(module: str, qualname: str) -> Any:
    target: Any = sys.modules.get(module)
    if target is None:
        __import__(module)
        target = sys.modules[module]
    for part in qualname.split("."):
        target = getattr(target, part)
    return target


def _task_named(module: str, qualname: str, fn: Any) -> bool:
    from conveyor.task import Task

    if "<" in qualname:  # a lambda or a local function: no name to find it by
        return False
    try:
        found = _lookup(module, qualname)
    except Exception:
        return False
    return isinstance(found, Task) and found.invoker.fn is fn


def task_function(module: str, qualname: str) -> Any:
    """In the worker: the function of the task at ``module.qualname``."""
    return _lookup(module, qualname).invoker.fn


def dumps(value: Any) -> bytes:
    buffer = io.BytesIO()
    _Pickler(buffer).dump(value)
    return buffer.getvalue()


def _pickles(value: Any) -> bool:
    try:
        dumps(value)
    except Exception:
        return False
    return True


def _parts(value: Any) -> list[tuple[str, Any]]:
    """(path suffix, part) of what pickling ``value`` pickles too."""
    if isinstance(value, dict):
        return [(f"[{key!r}]", item) for key, item in value.items()]
    if isinstance(value, (list, tuple)):
        return [(f"[{index}]", item) for index, item in enumerate(value)]
    if isinstance(value, (set, frozenset)):
        return [("{...}", item) for item in value]
    state = getattr(value, "__dict__", None)
    if isinstance(state, dict) and not isinstance(value, type) and not callable(value):
        return [(f".{key}", item) for key, item in state.items()]
    return []


def culprit(value: Any, path: str) -> tuple[str, Any]:
    """The deepest part of ``value`` (which does not pickle) that does not pickle."""
    seen = 0
    depth = 0
    while depth < _MAX_DEPTH:
        depth += 1
        for suffix, part in _parts(value):
            seen += 1
            if seen > _MAX_NODES:
                return path, value
            if not _pickles(part):
                value, path = part, path + suffix
                break
        else:
            return path, value
    return path, value


def check_pickles(value: Any, task_name: str, what: str) -> None:
    """Raise the pickling error for ``value`` (the pool's own), with a note naming the
    task, ``what`` it is ("side input 'client'", "its function") and the failing part."""
    try:
        dumps(value)
    except Exception as exc:
        label = what.removeprefix("side input ").strip("'")
        path, part = culprit(value, label)
        where = f"; the part that does not is {path} ({type(part).__name__})" if path != label else ""
        hint = ""
        if callable(part) and getattr(part, "__qualname__", "").count("<"):
            hint = ("; a lambda or a function defined inside another function cannot be pickled: "
                    "define it at module level")
        exc.add_note(
            f"conveyor: task {task_name!r} runs in worker processes (executor='process'), so {what} "
            f"must pickle, and it does not{where}{hint} (checked when the run started, before any item)"
        )
        raise
