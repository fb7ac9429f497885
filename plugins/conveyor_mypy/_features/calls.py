"""Calling a task or pipeline: ``task(data)`` / ``task.as_completed(data)``.

- A generic task's type arguments are ``Any`` (its TypeVars are kept on the type by
  ``stage_types``); here they come back as the call's own TypeVars, so mypy infers
  them from the data as for any generic function: ``ident(["a"])`` streams ``str``.
- A task with unbound required side inputs cannot run: plain typing reports the call
  as matching no overload; the plugin says which side inputs are missing instead.
"""

from __future__ import annotations

from mypy.nodes import ARG_OPT, ARG_STAR2, CallExpr, MemberExpr
from mypy.plugin import MethodContext, MethodSigContext
from mypy.types import FunctionLike, Type, UnionType

from conveyor_mypy import _consts
from conveyor_mypy._features.side_inputs import report_unbound
from conveyor_mypy._stages import any_type, named_type, read_stage


def call_signature(ctx: MethodSigContext) -> FunctionLike:
    sig = ctx.default_signature
    stage = read_stage(ctx.type)
    if stage is None:
        return sig
    stream = named_type(ctx.api, _consts.STREAM, [stage.output])
    if stage.unbound() and stage.is_task:  # reported by call_hook; run on as if bound
        obj = ctx.api.named_generic_type("builtins.object", [])
        return sig.copy_modified(
            arg_types=[obj, any_type()], arg_kinds=[ARG_OPT, ARG_STAR2], arg_names=["data", "run_options"],
            ret_type=stream, variables=[],
        )
    if not stage.variables or not sig.arg_types:
        return sig
    data = UnionType.make_union(
        [
            ctx.api.named_generic_type("typing.Iterable", [stage.input]),
            ctx.api.named_generic_type("typing.AsyncIterable", [stage.input]),
        ]
    )
    return sig.copy_modified(arg_types=[data, *sig.arg_types[1:]], ret_type=stream, variables=[*sig.variables, *stage.variables])


def call_hook(ctx: MethodContext) -> Type:
    stage = read_stage(ctx.type)
    if stage is not None and stage.is_task and stage.unbound():
        receiver = None
        if isinstance(ctx.context, CallExpr):
            callee = ctx.context.callee
            receiver = callee.expr if isinstance(callee, MemberExpr) and callee.name == "as_completed" else callee
        report_unbound(ctx.api, stage, receiver, ctx.context)
    return ctx.default_return_type
