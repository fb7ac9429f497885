"""Fully qualified names of what the plugin hooks into (conveyor is never imported)."""

from __future__ import annotations

from typing import Final

TASK: Final = "conveyor.task.Task"
SINGLE_TASK: Final = "conveyor.task.SingleTask"
BATCH_TASK: Final = "conveyor.task.BatchTask"
NO_OUTPUT: Final = "conveyor.task.NoOutput"
PIPELINE: Final = "conveyor.pipeline.Pipeline"
STREAM: Final = "conveyor.stream.Stream"

SINGLE_DECORATOR: Final = "conveyor.decorators.single_task"
BATCH_DECORATOR: Final = "conveyor.decorators.batch_task"
#: What ``@single_task(...)`` / ``@batch_task(...)`` with options return.
SINGLE_DECORATOR_PROTOCOL: Final = "conveyor.decorators._SingleTaskDecorator"
BATCH_DECORATOR_PROTOCOL: Final = "conveyor.decorators._BatchTaskDecorator"

# Facts the plugin keeps on the types it makes (mypy's Instance.extra_attrs).
FIRST: Final = "__conveyor_first__"  # name of the first stage (a Literal str)
LAST: Final = "__conveyor_last__"  # name of the last stage
GENERIC: Final = "__conveyor_generic__"  # def [T, ...] (input) -> output, for generic stages
BATCH_RETURNS: Final = "__conveyor_batch_returns__"  # a batch last stage's declared return type
KIND: Final = "__conveyor_kind__"  # the first step is fan / fork / route / ...: the function's name
BRANCHES: Final = "__conveyor_branches__"  # that step's branches (see _stages.Branch)
TAKES: Final = "__conveyor_takes__"  # what that step itself needs of every item (a predicate's parameter)

#: The branching steps (conveyor.branching), by function name.
BRANCHING: Final = "conveyor.branching"
BRANCHING_FUNCTIONS: Final = ("fan", "fork", "route", "route_by_type", "route_by_key", "tee", "merge")
