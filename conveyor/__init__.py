"""conveyor: typed, streaming dataflow pipelines for asyncio.

Decorate plain functions with ``@single_task`` / ``@batch_task``, pipe them with
``|`` and call the pipeline on data to get a stream of results.
"""

from typing import TYPE_CHECKING, Any

from conveyor.branching import fan, fork, merge, route, route_by_key, route_by_type, tee
from conveyor.dead_letters import Failed
from conveyor.decorators import batch_task, single_task
from conveyor.errors import BranchShapeError, ItemTypeError, NoRouteError, PipelineTypeError, PipelineTypeWarning
from conveyor.per_worker import per_worker
from conveyor.pipeline import Pipeline
from conveyor.rate_limit import RateLimiter
from conveyor.policy import ErrorHandler, LoggingErrorHandler, OnError, RetryPolicy
from conveyor.runtime.blocking import warn_blocking_calls
from conveyor.runtime.limits import DEFAULT_MAX_IN_FLIGHT
from conveyor.runtime.stats import RunStats, StageStats
from conveyor.side_inputs import SideInputMarkerError, side
from conveyor.task import BatchTask, SingleTask, Task
from conveyor.typecheck import TypecheckMode, typecheck_mode

if TYPE_CHECKING:
    from conveyor.runtime.dead_letters import Failures
    from conveyor.executors_dask import DaskExecutor
    from conveyor.stream import Stream

__all__ = [
    "single_task",
    "batch_task",
    "Task",
    "SingleTask",
    "BatchTask",
    "Pipeline",
    "Stream",
    "RunStats",
    "StageStats",
    "fan",
    "fork",
    "route",
    "route_by_type",
    "route_by_key",
    "tee",
    "merge",
    "NoRouteError",
    "BranchShapeError",
    "side",
    "per_worker",
    "DaskExecutor",
    "SideInputMarkerError",
    "Failed",
    "Failures",
    "ErrorHandler",
    "LoggingErrorHandler",
    "OnError",
    "RetryPolicy",
    "RateLimiter",
    "DEFAULT_MAX_IN_FLIGHT",
    "warn_blocking_calls",
    "PipelineTypeError",
    "PipelineTypeWarning",
    "ItemTypeError",
    "TypecheckMode",
    "typecheck_mode",
]

__version__ = "0.1.0"

if not TYPE_CHECKING:  # hidden from type checkers, so a misspelt name stays an error there

    def __getattr__(name: str) -> Any:
        # The runtime (and asyncio with it) is imported with the first run, or here
        # when its Stream is asked for, not with conveyor: ``import conveyor`` stays light.
        if name == "Stream":
            from conveyor.stream import Stream

            globals()["Stream"] = Stream
            return Stream
        if name == "Failures":
            from conveyor.runtime.dead_letters import Failures

            globals()["Failures"] = Failures
            return Failures
        if name == "DaskExecutor":  # distributed itself is imported only when a run uses it
            from conveyor.executors_dask import DaskExecutor

            globals()["DaskExecutor"] = DaskExecutor
            return DaskExecutor
        raise AttributeError(f"module 'conveyor' has no attribute {name!r}")
