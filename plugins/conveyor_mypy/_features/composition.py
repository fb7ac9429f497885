"""``a | b`` and ``Pipeline.add(...)``: one readable error per bad junction, and a
usable result type either way (so a mistake never cascades into follow-up errors).

Plain typing already rejects a bad ``|`` (as "Unsupported operand types"). With the
plugin, the signature hooks accept any operand and the method hooks judge each
junction as the runtime does (``conveyor.typecheck``), in mypy's own subtype terms:

- a sink (``-> None``) emits nothing: piping it onward is a mismatch;
- a source (no item parameter) can only start a pipeline;
- unbound required side inputs must be bound first (``with_inputs``);
- otherwise the produced type must fit the expected one; a generic stage's TypeVars
  are solved by mypy's own call inference (bounds and constraints included).
"""

from __future__ import annotations

from mypy.checker import TypeChecker
from mypy.erasetype import erase_typevars
from mypy.expandtype import expand_type
from mypy.subtypes import is_same_type
from mypy.errorcodes import ARG_TYPE
from mypy.nodes import ARG_POS, ARG_STAR, Context, Expression, OpExpr, TempNode
from mypy.plugin import CheckerPluginInterface, MethodContext, MethodSigContext
from mypy.types import (
    AnyType,
    CallableType,
    FunctionLike,
    Instance,
    Type,
    TypeOfAny,
    TypeVarId,
    TypeVarLikeType,
    TypeVarType,
    UnionType,
    get_proper_type,
)

from conveyor_mypy import _consts
from conveyor_mypy._errors import (
    BRANCH_MISMATCH,
    FAN_OUT_NOTE,
    INSIDE,
    MISMATCH,
    NARROWED,
    NO_COMMON_INPUT_NOTE,
    ROUTE_BY_TYPE_NOTE,
    ROUTE_INPUT,
    NOT_A_STAGE,
    PIPELINE_MISMATCH,
    SINK_NOTE,
    SOURCE_NOT_FIRST,
)
from conveyor_mypy._stages import (
    Stage,
    any_type,
    checker,
    named_type,
    quoted,
    read_stage,
    stage_name,
    stage_signature,
    with_facts,
)
from conveyor_mypy._features.branching import KINDS, combined, without
from conveyor_mypy._features.side_inputs import report_unbound
from conveyor_mypy._typeops import format_type, free_type_vars


# -- signature hooks: accept any operand, judge it in the method hooks ---------------------------


def or_signature(ctx: MethodSigContext) -> FunctionLike:
    sig = ctx.default_signature
    return sig.copy_modified(
        arg_types=[ctx.api.named_generic_type("builtins.object", [])],
        arg_kinds=[ARG_POS],
        arg_names=[None],
        ret_type=_pipeline(ctx.api, any_type(), any_type()),
        variables=[],
    )


def add_signature(ctx: MethodSigContext) -> FunctionLike:
    sig = ctx.default_signature
    return sig.copy_modified(
        arg_types=[ctx.api.named_generic_type("builtins.object", [])],
        arg_kinds=[ARG_STAR],
        arg_names=[None],
        ret_type=_pipeline(ctx.api, any_type(), any_type()),
        variables=[],
    )


# -- method hooks -----------------------------------------------------------------------------


def or_hook(ctx: MethodContext) -> Type:
    left = read_stage(ctx.type)
    right_type = ctx.arg_types[0][0] if ctx.arg_types and ctx.arg_types[0] else None
    right = read_stage(right_type) if right_type is not None else None
    if left is None:
        return ctx.default_return_type
    if right is None:
        if right_type is not None and not isinstance(get_proper_type(right_type), AnyType):
            ctx.api.msg.unsupported_operand_types("|", ctx.type, right_type, ctx.context)
        return AnyType(TypeOfAny.from_error)
    left_expr = ctx.context.left if isinstance(ctx.context, OpExpr) else None
    right_expr = ctx.args[0][0] if ctx.args and ctx.args[0] else None
    return compose(ctx.api, left, left_expr, right, right_expr, ctx.context)


def add_hook(ctx: MethodContext) -> Type:
    current = read_stage(ctx.type)
    if current is None:
        return ctx.default_return_type
    result: Type = current.instance
    current_expr: Expression | None = None
    for arg_type, arg_expr in zip(ctx.arg_types[0] if ctx.arg_types else [], ctx.args[0] if ctx.args else []):
        stage = read_stage(arg_type)
        if stage is None:
            if not isinstance(get_proper_type(arg_type), AnyType):
                ctx.api.fail(NOT_A_STAGE.format(given=format_type(arg_type, ctx.api)), arg_expr, code=ARG_TYPE)
            return _pipeline(ctx.api, any_type(), any_type())
        if not current.instance.type.has_base(_consts.TASK) and _is_empty(current):
            result = compose(ctx.api, current, None, stage, arg_expr, ctx.context, first_stage=True)
        else:
            result = compose(ctx.api, current, current_expr, stage, arg_expr, ctx.context)
        current = read_stage(result) or current
        current_expr = arg_expr
    return result


def _is_empty(stage: Stage) -> bool:
    """``Pipeline()``: Any in, Any out, no stage recorded."""
    return stage.first is None and isinstance(get_proper_type(stage.output), AnyType)


# -- one junction ---------------------------------------------------------------------------------


def compose(
    api: CheckerPluginInterface,
    left: Stage,
    left_expr: Expression | None,
    right: Stage,
    right_expr: Expression | None,
    context: Context,
    *,
    first_stage: bool = False,
) -> Type:
    """``left | right``: report what does not fit, and return the pipeline either way."""
    producer = quoted(stage_name(left, left_expr, last=True), "the left side")
    consumer = quoted(stage_name(right, right_expr, last=False), "the right side")
    for stage, expr in ((left, left_expr), (right, right_expr)):
        report_unbound(api, stage, expr, context)

    item, output = left.input, right.output
    variables: list[TypeVarLikeType] = []
    if first_stage:
        item, output, variables = right.input, right.output, list(right.variables)
    elif right.branches is not None and right.kind != "merge":
        # fan / fork / route / tee: the item type into each branch (its first stage).
        output = _erased(right)
        if left.is_sink:
            _sink_onward(api, producer, consumer, right, context)
        else:
            outputs = _into_branches(api, left, producer, right, context)
            if outputs is not None and right.first == right.last:
                # the step alone (not `fan(...) | more`): generic branches are bound now,
                # and a tee's items are what flows in
                output = combined(api, right.kind or "", _erase(left.output, list(left.variables)), outputs)
    elif right.is_source:
        api.fail(SOURCE_NOT_FIRST.format(consumer=consumer, producer=producer), context, code=PIPELINE_MISMATCH)
        if not right.is_task and right.first is None:
            api.msg.note(NO_COMMON_INPUT_NOTE.format(consumer=consumer), context, code=PIPELINE_MISMATCH)
    elif left.is_sink:
        _sink_onward(api, producer, consumer, right, context)
        output = _erased(right)
    else:
        fitted = _junction(api, left, right, context)
        if fitted is None:
            produced = format_type(left.output, api)
            expected = format_type(right.input, api)
            api.fail(MISMATCH.format(producer=producer, produced=produced, consumer=consumer, expected=expected),
                     context, code=PIPELINE_MISMATCH)
            note = _fan_out_note(api, left, producer, right.input)
            if note:
                api.msg.note(note, context, code=PIPELINE_MISMATCH)
            output = _erased(right)
        else:
            item, output, variables = fitted

    first = stage_name(right, right_expr, last=False) if first_stage else stage_name(left, left_expr, last=False)
    last = stage_name(right, right_expr, last=True)
    pipeline = _pipeline(api, _erase(item, variables), _erase(output, variables))
    generic = stage_signature(api, item, output, variables) if variables else None
    head = right if first_stage else left  # the first step: its branches stay on the type
    return with_facts(
        api, pipeline, first=first, last=last, generic=generic, batch_returns=right.batch_returns,
        kind=head.kind, branches=head.branch_facts, takes=head.takes,
    )


def _sink_onward(api: CheckerPluginInterface, producer: str, consumer: str, right: Stage, context: Context) -> None:
    expected = format_type(right.input, api)
    api.fail(MISMATCH.format(producer=producer, produced="nothing", consumer=consumer, expected=expected), context,
             code=PIPELINE_MISMATCH)
    api.msg.note(SINK_NOTE.format(producer=producer), context, code=PIPELINE_MISMATCH)


def _into_branches(
    api: CheckerPluginInterface, left: Stage, producer: str, right: Stage, context: Context
) -> list[Type] | None:
    """``left | fan(...)`` and friends: one error per branch whose first stage does not
    take what arrives there (a route's narrowed type, else ``left``'s output), named as
    the runtime names it; then what the step itself needs (a predicate's parameter).
    The branches' outputs, generic ones bound, when every branch fits."""
    produced = _erase(left.output, list(left.variables)) if left.variables else left.output
    return _into_step(api, left, producer, produced, right, "", context)


def _into_step(
    api: CheckerPluginInterface, left: Stage, producer: str, produced: Type, step: Stage, inside: str,
    context: Context,
) -> list[Type] | None:
    """``produced`` into each branch of ``step`` (a branch that starts with a branching
    step: into each of its branches, the message saying where, innermost first)."""
    chk = checker(api)
    branches = step.branches or []
    if chk is None:
        return None
    outputs: list[Type] = []
    kind = KINDS.get(step.kind or "", step.kind or "")
    fits = True
    for index, branch in enumerate(branches):
        incoming = produced if branch.narrowed is None else branch.narrowed
        if branch.narrowed is not None and branch.excludes:
            incoming = without(produced, branch.narrowed)
        where = dict(label=repr(branch.label), index=index + 1, count=len(branches), kind=kind)
        nested = read_stage(branch.nested) if branch.nested is not None else None
        if nested is not None and nested.branches is not None:
            inner = _into_step(api, left, producer, incoming, nested, INSIDE.format(**where) + inside, context)
            if inner is None:
                fits = False
            elif nested.first == nested.last:  # the branch is that step alone: its output follows
                outputs.append(combined(api, nested.kind or "", incoming, inner))
            else:
                outputs.append(_erase(branch.output, list(branch.variables)))
            continue
        signature = stage_signature(api, branch.input, branch.output, list(branch.variables))
        bound = _call(chk, signature, incoming, context)
        if bound is not None:
            outputs.append(_erase(bound, list(branch.variables)))
            continue
        fits = False
        narrowing = "" if is_same_type(incoming, produced) else NARROWED.format(
            narrowed=format_type(incoming, api), by=branch.narrowed_by or "by the route"
        )
        api.fail(
            BRANCH_MISMATCH.format(
                producer=producer, produced=format_type(produced, api), narrowing=narrowing,
                consumer=quoted(branch.consumer, "its first stage"), expected=format_type(branch.input, api),
                inside=inside, **where,
            ),
            context, code=PIPELINE_MISMATCH,
        )
        note = _fan_out_note(api, left, producer, branch.input) if is_same_type(incoming, left.output) else None
        if note:
            api.msg.note(note, context, code=PIPELINE_MISMATCH)
    if fits and step.takes is not None and _call(chk, _callable(api, [step.takes], produced), produced, context) is None:
        api.fail(ROUTE_INPUT.format(producer=producer, produced=format_type(produced, api),
                                    step=quoted(step.first, "the branching step"),
                                    expected=format_type(step.takes, api), inside=inside),
                 context, code=PIPELINE_MISMATCH)
        if step.kind == "route_by_type":
            api.msg.note(ROUTE_BY_TYPE_NOTE, context, code=PIPELINE_MISMATCH)
        return None
    return outputs if fits else None


def _junction(
    api: CheckerPluginInterface, left: Stage, right: Stage, context: Context
) -> tuple[Type, Type, list[TypeVarLikeType]] | None:
    """(pipeline input, pipeline output, its remaining TypeVars), or None on a mismatch.

    The junction is checked as a call: ``right`` as ``def [T...] (item: In) -> Out``
    called with an argument of ``left``'s output type, so that mypy's own inference
    binds TypeVars and enforces their bounds and constraints.
    """
    chk = checker(api)
    if chk is None:
        return None
    item, produced = left.input, left.output
    expected = _upper(right.input, right.variables)
    if left.variables and not _is_top(expected):
        # A generic left side (``ident | need_int``): its TypeVars get the right's input
        # as upper bound, found by "calling" def [T] (f: Callable[[Out], object]) ->
        # Callable[[In], Out] with a Callable[[expected], object].
        obj = api.named_generic_type("builtins.object", [])
        solved = _call(chk, _bind_upper(api, left), _callable(api, [expected], obj), context)
        if solved is None:
            return None
        fn = get_proper_type(solved)
        if isinstance(fn, CallableType) and len(fn.arg_types) == 1:
            item, produced = fn.arg_types[0], fn.ret_type
    result = _call(chk, stage_signature(api, right.input, right.output, list(right.variables)), produced, context)
    if result is None:
        return None
    remaining = [v for v in left.variables if v.id in free_type_vars(item) | free_type_vars(result)]
    return item, result, remaining


def _upper(typ: Type, variables: list[TypeVarLikeType]) -> Type:
    """``typ`` with the given TypeVars replaced by what they may stand for at most."""
    env: dict[TypeVarId, Type] = {}
    for var in variables:
        if isinstance(var, TypeVarType) and var.values:
            env[var.id] = UnionType.make_union(list(var.values))
        else:
            env[var.id] = var.upper_bound
    return expand_type(typ, env) if env else typ


def _is_top(typ: Type) -> bool:
    proper = get_proper_type(typ)
    return isinstance(proper, AnyType) or (isinstance(proper, Instance) and proper.type.fullname == "builtins.object")


def _bind_upper(api: CheckerPluginInterface, left: Stage) -> CallableType:
    obj = api.named_generic_type("builtins.object", [])
    consumer = _callable(api, [left.output], obj)
    return CallableType(
        [consumer], [ARG_POS], [None], _callable(api, [left.input], left.output),
        api.named_generic_type("builtins.function", []), variables=list(left.variables),
    )


def _callable(api: CheckerPluginInterface, args: list[Type], ret: Type) -> CallableType:
    return CallableType(args, [ARG_POS] * len(args), [None] * len(args), ret, api.named_generic_type("builtins.function", []))


def _call(chk: TypeChecker, callee: CallableType, arg: Type, context: Context) -> Type | None:
    """The return type of calling ``callee`` with one ``arg``; None if mypy objects."""
    with chk.msg.filter_errors() as watcher:
        ret: Type = chk.expr_checker.check_call(callee, [TempNode(arg, context=context)], [ARG_POS], context)[0]
    if watcher.has_new_errors():
        return None
    return ret


def _fan_out_note(api: CheckerPluginInterface, left: Stage, producer: str, expected_type: Type) -> str | None:
    if left.batch_returns is None:
        return None
    expected = format_type(expected_type, api)
    if not expected.startswith(("list[", "Sequence[", "Iterable[")):
        return None
    return FAN_OUT_NOTE.format(
        producer=producer, produced=format_type(left.output, api), returns=format_type(left.batch_returns, api)
    )


def _erased(right: Stage) -> Type:
    """The right side's output after a mismatch: its TypeVars as Any."""
    return _erase(right.output, list(right.variables))


def _erase(typ: Type, variables: list[TypeVarLikeType]) -> Type:
    return erase_typevars(typ) if variables or free_type_vars(typ) else typ


def _pipeline(api: CheckerPluginInterface, item: Type, output: Type) -> Instance:
    return named_type(api, _consts.PIPELINE, [item, output])
