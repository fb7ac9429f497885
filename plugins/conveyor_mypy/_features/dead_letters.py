"""``task.with_dead_letters(branch)`` and ``pipeline.with_dead_letters(branch)``: one
readable error for a branch that cannot take the task's ``Failed[In]`` records.

Plain typing already refuses such a branch (an argument error about protocols). With
the plugin, the signature hook accepts any argument and the method hook checks, as
the runtime does (``conveyor.dead_letters.check_branch``), that the branch's first
stage takes ``Failed[In]``: the branch "called" with one record must type-check.
A pipeline's branch must take some ``Failed[...]``: its tasks' own item types are
not on the pipeline's type, so the precise check of each is the runtime's.
"""

from __future__ import annotations

from mypy.errorcodes import ARG_TYPE
from mypy.nodes import ARG_POS, CallExpr, Expression, MemberExpr
from mypy.plugin import MethodContext, MethodSigContext
from mypy.types import AnyType, FunctionLike, Type, get_proper_type

from conveyor_mypy._errors import DEAD_LETTER_MISMATCH, NOT_A_DEAD_LETTER_BRANCH, PIPELINE_MISMATCH
from conveyor_mypy._features.composition import _call
from conveyor_mypy._features.side_inputs import report_unbound
from conveyor_mypy._stages import Stage, any_type, checker, named_type, quoted, read_stage, stage_name, stage_signature
from conveyor_mypy._typeops import format_type

FAILED = "conveyor.dead_letters.Failed"


def signature(ctx: MethodSigContext) -> FunctionLike:
    """Any argument: the method hook judges it."""
    sig = ctx.default_signature
    return sig.copy_modified(
        arg_types=[ctx.api.named_generic_type("builtins.object", [])], arg_kinds=[ARG_POS], arg_names=[None],
    )


def hook(ctx: MethodContext) -> Type:
    owner = read_stage(ctx.type)
    arg_type = ctx.arg_types[0][0] if ctx.arg_types and ctx.arg_types[0] else None
    branch = read_stage(arg_type) if arg_type is not None else None
    # The same task or pipeline, with a branch: its type, and the facts on it (stage names), stay.
    result = ctx.type if owner is not None else ctx.default_return_type
    if owner is None or arg_type is None:
        return result
    branch_expr = ctx.args[0][0] if ctx.args and ctx.args[0] else None
    if branch is None:
        if not isinstance(get_proper_type(arg_type), AnyType):
            ctx.api.fail(NOT_A_DEAD_LETTER_BRANCH.format(given=format_type(arg_type, ctx.api)), ctx.context,
                         code=ARG_TYPE)
        return result
    report_unbound(ctx.api, branch, branch_expr, ctx.context)
    item = owner.input if owner.is_task else any_type()
    records = named_type(ctx.api, FAILED, [item])
    chk = checker(ctx.api)
    if chk is None or branch.is_source:
        return result
    signature = stage_signature(ctx.api, branch.input, branch.output, list(branch.variables))
    if _call(chk, signature, records, ctx.context) is not None:
        return result
    receiver = ctx.context.callee.expr if isinstance(ctx.context, CallExpr) and isinstance(ctx.context.callee, MemberExpr) else None
    ctx.api.fail(
        DEAD_LETTER_MISMATCH.format(
            task=_owner_name(owner, receiver), records=format_type(records, ctx.api),
            consumer=quoted(stage_name(branch, branch_expr, last=False), "its first stage"),
            expected=format_type(branch.input, ctx.api),
        ),
        ctx.context, code=PIPELINE_MISMATCH,
    )
    return result


def _owner_name(owner: Stage, receiver: Expression | None) -> str:
    """The task whose records do not fit: a pipeline's first one (a branch that takes
    no ``Failed`` at all fits none of them, and the runtime names the first)."""
    name = stage_name(owner, receiver, last=owner.is_task)
    return f"task {name!r}" if name is not None else "this task" if owner.is_task else "the pipeline's first task"
