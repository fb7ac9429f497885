"""``per_worker(factory)``: a side input made by a factory once per worker.

For expensive, unpicklable or thread-unsafe things (an HTTP session, a database
connection, a model): ``resize.with_inputs(model=per_worker(load_model))``. The
factory runs once per run for an inline task, once per worker thread for
``executor="thread"``, once per worker process for ``"process"`` and once per Dask
worker for a ``DaskExecutor``, in that worker, so the value itself never travels:
only the factory is pickled. A value with ``close()`` or ``aclose()`` is closed when
the run ends (for processes: when the worker process exits).

Like ``side()``, ``per_worker`` is typed as the value it makes (a ``Callable[[], T]``
gives ``T``), so every type checker compares ``T`` with the parameter's annotation;
at run time it returns a marker that only ``with_inputs`` understands.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from conveyor.side_inputs import DeferredSideInput

__all__ = ["per_worker", "PerWorkerSideInput", "made_type"]

T = TypeVar("T")


class PerWorkerSideInput(DeferredSideInput):
    """The marker ``per_worker(factory)`` returns; its source is the factory."""

    __slots__ = ()


def per_worker(factory: Callable[[], T], /) -> T:
    """A side input made by ``factory()`` once per worker, typed as what it makes.

    ``factory`` takes no arguments (use ``functools.partial`` to give it some) and is
    a plain function: it runs in the worker, where no event loop of the run is
    available. Its value is closed at the end of the run if it has ``close()`` or
    ``aclose()``.
    """
    name = getattr(factory, "__qualname__", None) or type(factory).__name__
    spelling = f"per_worker({name})"
    if isinstance(factory, DeferredSideInput):
        raise TypeError(f"{spelling}: per_worker() takes a factory function, not a deferred side input")
    if not callable(factory):
        raise TypeError(f"per_worker() takes a function that makes the value, got {type(factory).__name__}")
    if inspect.iscoroutinefunction(factory) or inspect.isasyncgenfunction(factory):
        raise TypeError(
            f"{spelling}: the factory is an async function, but it runs in the worker (a thread, a "
            f"process or a Dask worker), outside the run's event loop; make it a plain function"
        )
    return PerWorkerSideInput(factory, spelling)  # type: ignore[return-value]


def made_type(factory: Callable[[], Any]) -> Any:
    """The factory's declared return type, or Any when it has none (or it cannot be read)."""
    try:
        target = factory if inspect.isfunction(factory) or inspect.ismethod(factory) else type(factory).__call__
        if isinstance(factory, type):
            return factory
        import typing

        return typing.get_type_hints(target).get("return", Any)
    except Exception:  # a forward reference that does not resolve, a builtin: nothing to check
        return Any
