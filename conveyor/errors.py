"""Exceptions conveyor raises itself (user exceptions always pass through unchanged)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from conveyor.typerules import type_repr

if TYPE_CHECKING:
    from conveyor.task import Task

__all__ = ["PipelineTypeError", "PipelineTypeWarning", "ItemTypeError", "NoRouteError", "BranchShapeError"]


class PipelineTypeError(TypeError):
    """Two stages do not fit: the upstream output type is not what the downstream expects.

    Raised at composition (the ``|``), before any data flows. The first line names
    both tasks, both types, the parameter and where each task is defined.
    """

    def __init__(
        self,
        *,
        producer: Task[Any, Any] | None,
        consumer: Task[Any, Any],
        produced: Any,
        expected: Any,
        reason: str | None = None,
        hint: str | None = None,
        parameter: str | None = None,
    ) -> None:
        self.producer = producer
        self.consumer = consumer
        self.produced = produced
        self.expected = expected
        self.reason = reason
        self.hint = hint
        self.parameter = parameter or (consumer.signature.item.name if consumer.signature.item else None)
        self.where: str | None = None  # the branch of a fan / fork / route ... it is in
        super().__init__(self._message())

    def located(self, where: str) -> PipelineTypeError:
        """This error, saying which branch it is in (innermost first, once)."""
        if self.where is None:
            self.where = where
        elif where not in self.where:
            self.where = f"{self.where}, inside {where}"
        self.args = (self._message(),)
        return self

    def _message(self) -> str:
        source = (
            f"{self.producer.name!r} ({_short_place(self.producer.defined_at)}) outputs {type_repr(self.produced)}"
            if self.producer is not None
            else f"the pipeline's input is {type_repr(self.produced)}"
        )
        line = (
            f"pipeline stage mismatch: {source} but {self.consumer.name!r} "
            f"({_short_place(self.consumer.defined_at)}) expects {type_repr(self.expected)}"
            f" for parameter {self.parameter!r}"
        )
        details = [line]
        if self.where:
            details.append(f"  where: {self.where}")
        if self.reason:
            details.append(f"  why: {self.reason}")
        if self.hint:
            details.append(f"  hint: {self.hint}")
        return "\n".join(details)


class PipelineTypeWarning(UserWarning):
    """A stage mismatch found in ``lax`` type-check mode."""


class ItemTypeError(TypeError):
    """An item did not match the type of the edge it travels on (runtime item checks)."""


class NoRouteError(LookupError):
    """No branch of a ``route`` takes an item, and the route has no default branch."""


class BranchShapeError(ValueError):
    """A ``fork`` branch answered one item with several outputs: they cannot be paired."""


def _short_place(defined_at: str) -> str:
    """``/long/path/to/app.py:12`` -> ``app.py:12`` (the full path is in the task's repr)."""
    path, _, line = defined_at.rpartition(":")
    return f"{path.rsplit('/', 1)[-1]}:{line}" if path else defined_at
