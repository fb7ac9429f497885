"""Calling a task or pipeline: ``task(data)`` / ``task.as_completed(data)``.

- A generic task's type arguments are ``Any`` (its TypeVars are kept on the type by
  ``stage_types``); here they come back as the call's own TypeVars, so mypy infers
  them from the data as for any generic function: ``ident(["a"])`` streams ``str``.
- A task with unbound required side inputs cannot run: plain typing reports the call
  as matching no overload; the plugin says which side inputs are missing instead.
- A call without data runs a source (the overload without a ``data`` parameter);
  plain typing rejects it for any other stage ("Missing positional argument"), except
  a generic one (whose ``Any`` input it cannot tell from a source's). The plugin says
  it in the runtime's words, for both.
"""

from __future__ import annotations

from mypy import errorcodes
from mypy.nodes import ARG_NAMED, ARG_OPT, ARG_POS, ARG_STAR, ARG_STAR2, CallExpr, MemberExpr
from mypy.plugin import MethodContext, MethodSigContext
from mypy.types import AnyType, FunctionLike, Type, UnionType, get_proper_type

from conveyor_mypy import _consts
from conveyor_mypy._errors import NEEDS_ITEMS
from conveyor_mypy._features.side_inputs import report_unbound
from conveyor_mypy._stages import Stage, any_type, expr_name, named_type, quoted, read_stage


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
            ret_type=stream, variables=[], unpack_kwargs=False,
        )
    if not sig.arg_names or sig.arg_names[0] != "data":
        return sig  # the overload for a source (no data)
    if _needs_data(stage) and _without_data(ctx.context) and sig.arg_kinds[0] == ARG_POS:
        # reported by call_hook in the runtime's words, instead of "Missing positional argument"
        sig = sig.copy_modified(arg_kinds=[ARG_OPT, *sig.arg_kinds[1:]])
    if not stage.variables:
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
    elif stage is not None and _needs_data(stage) and _without_data(ctx.context):
        receiver = ctx.context.callee if isinstance(ctx.context, CallExpr) else None
        if isinstance(receiver, MemberExpr) and receiver.name == "as_completed":
            receiver = receiver.expr
        name = quoted(stage.first or expr_name(receiver, last=False), "this task")
        ctx.api.fail(NEEDS_ITEMS.format(task=name), ctx.context, code=errorcodes.CALL_ARG)
    return ctx.default_return_type


def _needs_data(stage: Stage) -> bool:
    """A stage known to take items (a generic one too), not a source and not ``Any``."""
    return not stage.is_source and (bool(stage.variables) or not isinstance(get_proper_type(stage.input), AnyType))


def _without_data(call: object) -> bool:
    """``task()`` / ``task(max_in_flight=2)``: no positional argument and no ``data=``."""
    if not isinstance(call, CallExpr):
        return False
    for kind, name in zip(call.arg_kinds, call.arg_names):
        if kind in (ARG_POS, ARG_STAR, ARG_STAR2) or (kind == ARG_NAMED and name == "data"):
            return False
    return True
