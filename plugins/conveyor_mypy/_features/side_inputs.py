"""``task.with_inputs(...)``: side inputs as the runtime takes them.

Plain typing (``*args: P.args, **kwargs: P.kwargs``) accepts exactly the parameters'
types, and needs every required side input in one call. The runtime also takes, for
a parameter annotated ``A`` (``conveyor.task._classify_side_input``):

- an awaitable of ``A`` (awaited once per run);
- a source pipeline, a source task or a Stream whose items fit ``A``; when ``A`` is a
  list/sequence type (``_rules.ALL_ITEMS``) the parameter takes all items, so they
  must fit its element type;

and binding may happen over several calls. So the signature hook widens each
parameter to that union and makes every parameter optional; the method hook marks
the parameters bound by this call as bound (optional) in the returned task's type,
and rejects pipelines that need input data. ``report_unbound`` is the check
that a task piped or run has all its required side inputs (used by composition and
calls).
"""

from __future__ import annotations

from mypy.nodes import ARG_NAMED, ARG_NAMED_OPT, ARG_OPT, ARG_POS, ArgKind, CallExpr, Context, Expression, MemberExpr
from mypy.plugin import CheckerPluginInterface, MethodContext, MethodSigContext
from mypy.types import (
    AnyType,
    FunctionLike,
    Instance,
    Parameters,
    TupleType,
    Type,
    TypeOfAny,
    UnionType,
    get_proper_type,
)

from conveyor_mypy import _consts, _rules
from conveyor_mypy._errors import NEEDS_DATA, SIDE_INPUT, UNBOUND
from conveyor_mypy._stages import Stage, any_type, expr_name, named_type, quoted, read_stage, stage_name, with_facts


_OPTIONAL: dict[ArgKind, ArgKind] = {ARG_POS: ARG_OPT, ARG_NAMED: ARG_NAMED_OPT}


def with_inputs_signature(ctx: MethodSigContext) -> FunctionLike:
    sig = ctx.default_signature
    if sig.is_ellipsis_args:
        return sig
    return sig.copy_modified(
        arg_types=[accepted(ctx.api, t) for t in sig.arg_types],
        arg_kinds=[_OPTIONAL.get(kind, kind) for kind in sig.arg_kinds],
    )


def accepted(api: CheckerPluginInterface, annotation: Type) -> Type:
    """What may be bound to a side-input parameter annotated ``annotation``."""
    proper = get_proper_type(annotation)
    if isinstance(proper, AnyType):
        return annotation
    item = _all_items_element(annotation)
    flowing = item if item is not None else annotation
    return UnionType.make_union(
        [
            annotation,
            api.named_generic_type("typing.Awaitable", [annotation]),
            named_type(api, _consts.PIPELINE, [any_type(), flowing]),
            named_type(api, _consts.TASK, [any_type(), flowing, Parameters([], [], [])]),
            named_type(api, _consts.STREAM, [flowing]),
        ]
    )


def _all_items_element(annotation: Type) -> Type | None:
    """The element type when the parameter takes all items (``signature.wants_all_items``)."""
    proper = get_proper_type(annotation)
    if isinstance(proper, TupleType):
        return proper.items[0] if proper.items else AnyType(TypeOfAny.implementation_artifact)
    if isinstance(proper, Instance) and proper.type.fullname in _rules.ALL_ITEMS:
        return proper.args[0] if proper.args else AnyType(TypeOfAny.implementation_artifact)
    return None


def with_inputs_hook(ctx: MethodContext) -> Type:
    default = get_proper_type(ctx.default_return_type)
    task = read_stage(ctx.type)
    if task is None or task.params is None or not isinstance(default, Instance) or len(default.args) != 3:
        return ctx.default_return_type
    params = task.params
    task_name = quoted(task.first or expr_name(_receiver_expr(ctx), last=False), "this task")
    kinds = list(params.arg_kinds)
    for index, (formal_args, formal_types) in enumerate(zip(ctx.args, ctx.arg_types)):
        if not formal_args or index >= len(kinds):
            continue
        kinds[index] = _OPTIONAL.get(kinds[index], kinds[index])
        param = quoted(params.arg_names[index], f"#{index + 1}")
        for arg, arg_type in zip(formal_args, formal_types):
            _check_source(ctx.api, arg_type, param, task_name, arg)
    bound = Parameters(params.arg_types, kinds, params.arg_names)
    result = default.copy_modified(args=[default.args[0], default.args[1], bound])
    return with_facts(ctx.api, result, first=task.first, last=task.last, batch_returns=task.batch_returns)


def _check_source(api: CheckerPluginInterface, arg_type: Type, param: str, task: str, context: Context) -> None:
    """A pipeline or task given as a side input runs without data: it must be a source.
    (A Stream already has its data.)"""
    stage = read_stage(arg_type)
    if stage is not None and not stage.is_source and not isinstance(get_proper_type(stage.input), AnyType):
        api.fail(NEEDS_DATA.format(param=param, task=task), context, code=SIDE_INPUT)


def _receiver_expr(ctx: MethodContext) -> Expression | None:
    call = ctx.context
    if isinstance(call, CallExpr) and isinstance(call.callee, MemberExpr):
        return call.callee.expr
    return None


def report_unbound(api: CheckerPluginInterface, stage: Stage, expr: Expression | None, context: Context) -> None:
    """A task that still needs side inputs can be neither piped nor run."""
    missing = stage.unbound()
    if not missing or not stage.is_task:
        return
    name = stage_name(stage, expr, last=False)
    bare = name or "task"
    api.fail(
        UNBOUND.format(
            task=quoted(name, "this task"),
            names=", ".join(map(repr, missing)),
            bare=bare,
            keywords=", ".join(f"{m}=..." for m in missing),
        ),
        context,
        code=SIDE_INPUT,
    )
