"""The plugin's error codes and messages (``# type: ignore[pipeline-mismatch]`` and
``disable_error_code = side-input`` work with these codes)."""

from __future__ import annotations

from typing import Final

from mypy.errorcodes import ErrorCode

PIPELINE_MISMATCH: Final = ErrorCode(
    "pipeline-mismatch", "A pipeline stage does not take what the stage before it emits", "Conveyor"
)
SIDE_INPUT: Final = ErrorCode("side-input", "A side input is unbound, or cannot be used as given", "Conveyor")

# The runtime's wording (conveyor.errors.PipelineTypeError and conveyor.graph), without
# the file positions mypy shows anyway.
MISMATCH: Final = "pipeline stage mismatch: {producer} outputs {produced} but {consumer} expects {expected}"
SOURCE_NOT_FIRST: Final = (
    "pipeline stage mismatch: {consumer} takes no item parameter, so it is a source and can "
    "only start a pipeline; here it would follow {producer}"
)
#: A pipeline whose facts were lost (an older mypy's cache, another module): it may be a
#: branching step whose branches take no common item type.
NO_COMMON_INPUT_NOTE: Final = (
    "if {consumer} is a fan / fork / route / tee step, no item type fits all of its branches"
)
SINK_NOTE: Final = "{producer} returns None, so it is a sink: nothing flows out of it"
FAN_OUT_NOTE: Final = (
    "a batch task's list return fans out: {producer} sends single {produced} items downstream, not {returns}"
)
UNBOUND: Final = "task {task} needs side input(s) {names}; bind them first with {bare}.with_inputs({keywords})"
NEEDS_DATA: Final = (
    "side input {param} of task {task} is a pipeline that needs input data; pass a pipeline "
    "that starts with a source task, or a Stream such as pipeline(data)"
)
NEEDS_ITEMS: Final = "{task} expects input data: call it with an iterable or async iterable of items"
NOT_A_STAGE: Final = 'Argument to "add" of "Pipeline" must be a task or a pipeline, not "{given}"'

# Branching steps (conveyor.combinators and conveyor.errors): a bad branch names itself as
# the runtime's "where: branch ..." line does.
BRANCH_MISMATCH: Final = (
    "pipeline stage mismatch: {producer} outputs {produced}{narrowing} but {consumer} expects {expected}, "
    "in branch {label} ({index} of {count}) of {kind}{inside}"
)
INSIDE: Final = ", inside branch {label} ({index} of {count}) of {kind}"
NARROWED: Final = ", narrowed to {narrowed} {by},"
ROUTE_INPUT: Final = "pipeline stage mismatch: {producer} outputs {produced} but {step} takes {expected}{inside}"
ROUTE_BY_TYPE_NOTE: Final = (
    "route_by_type without default= takes only items of the listed types; add default=... for the others"
)
NOT_A_BRANCH: Final = (
    "{kind}: branch {index} is {given}; a branch is a task made with @single_task / @batch_task, or a pipeline of them"
)
NOT_A_SOURCE: Final = "{kind}: source {index} is {given}; a source is a source pipeline, an iterable or an async iterable"
SOURCE_BRANCH: Final = (
    "{kind}: branch {index} starts with the source {name}, which takes no items; to combine several "
    "sources into one stream use merge(...)"
)
MERGE_NEEDS_DATA: Final = (
    "merge: source {index} ({name}) needs input data; give merge source pipelines (starting with a "
    "task that takes no item) or data streams"
)
FORK_SINK: Final = (
    "branch {label} ({index} of {count}) of fork ends in a sink, so it gives nothing to pair; use "
    "tee(...) for side branches whose outputs are not needed"
)
TOO_FEW: Final = "{kind} needs at least {minimum} {what}, got {count}"

# Dead letters (conveyor.dead_letters.DeadLetterTypeError): the runtime's first line.
DEAD_LETTER_MISMATCH: Final = (
    "dead-letter branch mismatch: {task} sends {records} records but {consumer} expects {expected}"
)
NOT_A_DEAD_LETTER_BRANCH: Final = (
    'Argument to "with_dead_letters" must be a task or a pipeline taking Failed[...] records, not "{given}"'
)
