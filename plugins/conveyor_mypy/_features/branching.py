"""The branching steps of ``conveyor.branching``: ``fan``, ``fork``, ``route``,
``route_by_type``, ``route_by_key``, ``tee`` and ``merge``.

Plain typing checks them through fixed-arity overloads: a branch that does not fit
shows up as an overload or argument error, or, where the overloads can only meet the
branch inputs into ``Never``, as a combinator that looks like a source. With the
plugin a branching call accepts any arguments (the signature hook) and the function
hook builds the step's type the way ``conveyor.combinators`` does (the input every
branch takes, the union / tuple / item that comes out), recording its branches on
the type (``_stages.Branch``). Composition (``_features.composition``) then checks
the item type into each branch, a route's branch with the type it narrows to, and
reports one error per bad branch, naming it as the runtime's ``where: branch ...``
line does.
"""

from __future__ import annotations

from collections.abc import Callable

from mypy.erasetype import erase_typevars
from mypy.errorcodes import ARG_TYPE
from mypy.maptype import map_instance_to_supertype
from mypy.meet import meet_types
from mypy.nodes import (
    ARG_NAMED_OPT,
    ARG_OPT,
    ARG_POS,
    ARG_STAR,
    ARG_STAR2,
    BytesExpr,
    DictExpr,
    Expression,
    IntExpr,
    LambdaExpr,
    MemberExpr,
    NameExpr,
    StrExpr,
    TupleExpr,
    TypeInfo,
)
from mypy.plugin import CheckerPluginInterface, FunctionContext, FunctionSigContext
from mypy.types import (
    AnyType,
    CallableType,
    FunctionLike,
    Instance,
    NoneType,
    TupleType,
    Type,
    TypeOfAny,
    TypeType,
    UninhabitedType,
    UnionType,
    get_proper_type,
)
from mypy.subtypes import is_subtype
from mypy.typeops import make_simplified_union
from mypy.typevars import fill_typevars_with_any

from conveyor_mypy import _consts
from conveyor_mypy._errors import (
    FORK_SINK,
    MERGE_NEEDS_DATA,
    NOT_A_BRANCH,
    NOT_A_SOURCE,
    PIPELINE_MISMATCH,
    SOURCE_BRANCH,
    TOO_FEW,
)
from conveyor_mypy._features.side_inputs import report_unbound
from conveyor_mypy._stages import (
    Branch,
    Stage,
    any_type,
    chain_names,
    checker,
    expr_name,
    is_no_output,
    named_type,
    read_stage,
    stage_name,
    with_facts,
)
from conveyor_mypy._typeops import format_type, free_type_vars

#: The runtime's combinator kind for each function.
KINDS = {"fan": "fan", "fork": "fork", "route": "route", "route_by_type": "route", "route_by_key": "route",
         "tee": "tee", "merge": "merge"}


# -- signature: accept anything, judge it in the function hook ---------------------------------


def signature(ctx: FunctionSigContext) -> FunctionLike:
    sig = ctx.default_signature
    obj = ctx.api.named_generic_type("builtins.object", [])
    takes_default = isinstance(sig, CallableType) and "default" in sig.arg_names
    return sig.copy_modified(
        arg_types=[obj, obj] if takes_default else [obj],
        arg_kinds=[ARG_STAR, ARG_NAMED_OPT] if takes_default else [ARG_STAR],
        arg_names=[None, "default"] if takes_default else [None],
        ret_type=named_type(ctx.api, _consts.PIPELINE, [any_type(), any_type()]),
        variables=[],
    )


def hook_for(function: str) -> Callable[[FunctionContext], Type]:
    def hook(ctx: FunctionContext) -> Type:
        return build(ctx, function)

    hook.__name__ = f"{function}_hook"
    return hook


# -- the step's type ---------------------------------------------------------------------------


class _Invalid(Exception):
    """An argument the runtime rejects with a TypeError: reported, the step is Any."""


def build(ctx: FunctionContext, function: str) -> Type:
    api = ctx.api
    kind = KINDS[function]
    if any(k in (ARG_STAR, ARG_STAR2) for kinds in ctx.arg_kinds for k in kinds):
        return ctx.default_return_type  # fan(*branches): the branches cannot be told apart
    # None for an optional branch (route's `otherwise`, `default=`) means "none", as at run time.
    args = [(e, t) for e, t in zip(ctx.args[0], ctx.arg_types[0])] if ctx.args else []
    if function == "route":
        args = args[:2] + [(e, t) for e, t in args[2:] if not _is_none(t)]
    default = next(iter(zip(ctx.args[1], ctx.arg_types[1])), None) if len(ctx.args) > 1 else None
    if default is not None and _is_none(default[1]):
        default = None
    try:
        if function == "merge":
            return _merge(ctx, args)
        branches, item, own = _branches(ctx, function, args, default)
    except _Invalid:
        return named_type(api, _consts.PIPELINE, [any_type(), any_type()])
    for index, branch in enumerate(branches):
        if kind == "fork" and is_no_output(branch.output):
            api.fail(FORK_SINK.format(label=repr(branch.label), index=index + 1, count=len(branches)), ctx.context,
                     code=PIPELINE_MISMATCH)
    output = combined(api, function, item, [b.output for b in branches])
    return _step(api, function, [b.label for b in branches], item, output, branches, own)


def _branches(
    ctx: FunctionContext, function: str, args: list[tuple[Expression, Type]], default: tuple[Expression, Type] | None
) -> tuple[list[Branch], Type, Type | None]:
    """The branches, the item type the step takes (what every branch and the predicate
    or key take, a route's narrowed branches aside), and what the step itself needs of
    every item (a predicate's parameter, route_by_type's listed types)."""
    api = ctx.api
    kind = KINDS[function]
    takes: list[Type] = []  # what the step itself needs of every item (branches aside)
    inputs: list[Type] = []  # what the branches that get the item type take
    branches: list[Branch] = []
    if function in ("fan", "fork", "tee"):
        _at_least(ctx, kind, args, 1 if kind == "tee" else 2, "branch(es)")
        seen: dict[str, int] = {}
        for index, (expr, typ) in enumerate(args):
            label = _label(read_stage(typ), expr)
            seen[label] = seen.get(label, 0) + 1  # the same task twice: 'double', 'double (2)', as at run time
            branch = _branch(ctx, kind, index, expr, typ, label if seen[label] == 1 else f"{label} ({seen[label]})")
            branches.append(branch)
            inputs.append(branch.input)
    elif function == "route":
        if len(args) not in (2, 3):
            message = "route takes a predicate, a branch for the items it accepts, and optionally one for the others"
            ctx.api.fail(message, ctx.context, code=ARG_TYPE)
            raise _Invalid
        predicate, *parts = args
        param, narrowed, type_is = _predicate(predicate[1])
        name = _function_name(predicate[0], "predicate")
        takes.append(param)
        for index, ((expr, typ), label) in enumerate(zip(parts, (f"{name}: yes", "otherwise"))):
            branch = _branch(ctx, kind, index, expr, typ, label)
            if narrowed is not None and (index == 0 or type_is):
                # `then` gets the narrowed type; after a TypeIs, `otherwise` what it rules out.
                branch.narrowed, branch.narrowed_by, branch.excludes = narrowed, f"by {name!r}", index == 1
            else:
                inputs.append(branch.input)
            branches.append(branch)
    elif function == "route_by_type":
        _at_least(ctx, kind, args, 1, "route(s)")
        listed: list[Type] = []
        for index, (expr, typ) in enumerate(args):
            pair = get_proper_type(typ)
            if not (isinstance(pair, TupleType) and len(pair.items) == 2 and _class_type(pair.items[0]) is not None):
                ctx.api.fail(f"route_by_type: route {index + 1} must be a (type, branch) pair such as (Good, store), "
                             f"got {format_type(typ, api)}", expr, code=ARG_TYPE)
                raise _Invalid
            narrowed = _class_type(pair.items[0])
            assert narrowed is not None
            part = expr.items[1] if isinstance(expr, TupleExpr) and len(expr.items) == 2 else None
            branch = _branch(ctx, kind, index, part or expr, pair.items[1], format_type(narrowed, api), part)
            branch.narrowed, branch.narrowed_by = narrowed, "by type"
            branches.append(branch)
            listed.append(narrowed)
        if default is None:
            takes.append(UnionType.make_union(listed))
    else:  # route_by_key
        if len(args) != 2:
            _at_least(ctx, kind, args, 2, "argument(s): the key function and the branches")
        (_, key_type), (mapping_expr, mapping_type) = args[:2]
        param, _, _ = _predicate(key_type)
        takes.append(param)
        for index, (label, value, typ) in enumerate(_mapping_branches(ctx, mapping_expr, mapping_type)):
            branch = _branch(ctx, kind, index, value, typ, label)
            branches.append(branch)
            inputs.append(branch.input)
    if default is not None and function in ("route_by_type", "route_by_key"):
        branch = _branch(ctx, kind, len(branches), default[0], default[1], "default")
        branches.append(branch)
        inputs.append(branch.input)
    own = _meet(takes) if takes else None
    return branches, _meet(takes + inputs), own


def _branch(
    ctx: FunctionContext, kind: str, index: int, expr: Expression | None, typ: Type, label: str,
    name_expr: Expression | None = None,
) -> Branch:
    stage = read_stage(typ)
    if stage is None:
        ctx.api.fail(NOT_A_BRANCH.format(kind=kind, index=index + 1, given=format_type(typ, ctx.api)), expr or ctx.context,
                     code=ARG_TYPE)
        raise _Invalid
    report_unbound(ctx.api, stage, expr, ctx.context)
    consumer = stage_name(stage, name_expr or expr, last=False)
    nested = stage.instance if stage.branches is not None and stage.kind != "merge" else None
    if stage.is_source and nested is None and not isinstance(get_proper_type(stage.input), AnyType):
        ctx.api.fail(SOURCE_BRANCH.format(kind=kind, index=index + 1, name=repr(consumer or "?")), expr or ctx.context,
                     code=PIPELINE_MISMATCH)
        raise _Invalid
    return Branch(label, consumer, stage.input, stage.output, list(stage.variables), nested=nested)


def _merge(ctx: FunctionContext, args: list[tuple[Expression, Type]]) -> Type:
    api = ctx.api
    _at_least(ctx, "merge", args, 2, "sources")
    labels: list[str] = []
    outputs: list[Type] = []
    for index, (expr, typ) in enumerate(args):
        stage = read_stage(typ)
        if stage is not None:
            names = chain_names(expr)
            label = " | ".join(n or "?" for n in names) if len(names) > 1 else stage_name(stage, expr, last=False) or "?"
            if not stage.is_source and not isinstance(get_proper_type(stage.input), AnyType):
                api.fail(MERGE_NEEDS_DATA.format(index=index + 1, name=repr(label)), expr, code=PIPELINE_MISMATCH)
                raise _Invalid
            labels.append(label)
            outputs.append(stage.output)
            continue
        element = _element(api, typ)
        if element is None:
            api.fail(NOT_A_SOURCE.format(kind="merge", index=index + 1, given=format_type(typ, api)), expr,
                     code=ARG_TYPE)
            raise _Invalid
        labels.append(f"data {index + 1}")
        outputs.append(element)
    return _step(api, "merge", labels, UninhabitedType(), _union(api, outputs), [])


def without(produced: Type, taken: Type) -> Type:
    """``A | B`` without the members that fit ``taken`` (what a TypeIs rules out), as
    ``combinators._without``: not a union, or nothing left, is ``produced`` itself."""
    proper = get_proper_type(produced)
    if not isinstance(proper, UnionType):
        return produced
    rest = [m for m in proper.items if not is_subtype(m, taken)]
    return make_simplified_union(rest) if rest else produced


def combined(api: CheckerPluginInterface, function: str, item: Type, outputs: list[Type]) -> Type:
    """What comes out of a step given what comes out of its branches (``Combinator._combined``)."""
    kind = KINDS.get(function, function)
    if kind == "tee":
        return item
    if kind == "fork":
        return TupleType(outputs, api.named_generic_type("builtins.tuple", [_union(api, outputs)]))
    return _union(api, outputs)


def _step(
    api: CheckerPluginInterface,
    function: str,
    labels: list[str],
    item: Type,
    output: Type,
    branches: list[Branch],
    takes: Type | None = None,
) -> Type:
    """``Pipeline[item, output]`` named as the runtime names the step, with its branches."""
    name = f"{KINDS[function]}({', '.join(labels)})"
    # A generic branch's TypeVars stay on its Branch (bound at the |), not on the step.
    item, output = (erase_typevars(t) if free_type_vars(t) else t for t in (item, output))
    pipeline = named_type(api, _consts.PIPELINE, [item, output])
    facts = TupleType([b.encode(api) for b in branches], api.named_generic_type("builtins.tuple", [any_type()]))
    return with_facts(api, pipeline, first=name, last=name, kind=function, branches=facts, takes=takes)


# -- reading the arguments ---------------------------------------------------------------------


def _is_none(typ: Type) -> bool:
    return isinstance(get_proper_type(typ), NoneType)


def _at_least(ctx: FunctionContext, kind: str, args: list[tuple[Expression, Type]], minimum: int, what: str) -> None:
    if len(args) < minimum:
        ctx.api.fail(TOO_FEW.format(kind=kind, minimum=minimum, what=what, count=len(args)), ctx.context, code=ARG_TYPE)
        raise _Invalid


def _predicate(typ: Type) -> tuple[Type, Type | None, bool]:
    """(the parameter type, the TypeIs / TypeGuard type, is it TypeIs) of a predicate or
    key function (``combinators.narrowed_by_predicate``)."""
    fn = get_proper_type(typ)
    if isinstance(fn, CallableType) and fn.arg_types and fn.arg_kinds[0] in (ARG_POS, ARG_OPT) and not fn.variables:
        type_is = getattr(fn, "type_is", None)
        return fn.arg_types[0], type_is or fn.type_guard, type_is is not None
    return any_type(), None, False


def _function_name(expr: Expression, fallback: str) -> str:
    if isinstance(expr, LambdaExpr):
        return "<lambda>"
    if isinstance(expr, (NameExpr, MemberExpr)):
        return expr.name
    return fallback


def _class_type(typ: Type) -> Type | None:
    """``Good`` for the class object ``Good`` (or a ``type[Good]``)."""
    proper = get_proper_type(typ)
    if isinstance(proper, FunctionLike) and proper.is_type_obj():
        return fill_typevars_with_any(proper.type_object())
    if isinstance(proper, TypeType):
        return proper.item
    return None


def _mapping_branches(
    ctx: FunctionContext, expr: Expression, typ: Type
) -> list[tuple[str, Expression | None, Type]]:
    """(label, expression, type) of each branch of route_by_key's mapping: one per key
    of a dict display, else one for the mapping's value type."""
    chk = checker(ctx.api)
    if isinstance(expr, DictExpr) and chk is not None and all(key is not None for key, _ in expr.items):
        found: list[tuple[str, Expression | None, Type]] = []
        for key, value in expr.items:
            value_type = chk.lookup_type_or_none(value) or ctx.api.get_expression_type(value)
            found.append((_key_label(key), value, value_type))
        if found:
            return found
    proper = get_proper_type(typ)
    if isinstance(proper, Instance) and proper.type.has_base("typing.Mapping"):
        mapping = map_instance_to_supertype(proper, _info(proper, "typing.Mapping"))
        return [("each key", expr, mapping.args[1])]
    ctx.api.fail(f"route_by_key: branches must be a non-empty mapping of key -> branch, got {format_type(typ, ctx.api)}",
                 expr, code=ARG_TYPE)
    raise _Invalid


def _key_label(key: Expression | None) -> str:
    if isinstance(key, (StrExpr, BytesExpr)):
        return repr(key.value)
    if isinstance(key, IntExpr):
        return repr(key.value)
    name = expr_name(key, last=False)
    return name if name is not None else "?"


def _element(api: CheckerPluginInterface, typ: Type) -> Type | None:
    """The item type of plain data given to merge (an iterable or async iterable, not a
    str or bytes); None for anything else."""
    proper = get_proper_type(typ)
    if isinstance(proper, AnyType):
        return proper
    if isinstance(proper, TupleType):
        proper = get_proper_type(proper.partial_fallback)
    if not isinstance(proper, Instance) or proper.type.fullname in ("builtins.str", "builtins.bytes"):
        return None
    for base in ("typing.Iterable", "typing.AsyncIterable"):
        if proper.type.has_base(base):
            mapped = map_instance_to_supertype(proper, _info(proper, base))
            return mapped.args[0] if mapped.args else AnyType(TypeOfAny.implementation_artifact)
    return None


def _info(instance: Instance, fullname: str) -> TypeInfo:
    return next(base for base in instance.type.mro if base.fullname == fullname)


def _meet(types: list[Type]) -> Type:
    """What every one of ``types`` accepts; Any when none says (generic or Any branches)."""
    known = [t for t in types if not isinstance(get_proper_type(t), AnyType)]
    if not known:
        return any_type()
    result: Type = known[0]
    for other in known[1:]:
        result = meet_types(result, other)
    return result


def _union(api: CheckerPluginInterface, outputs: list[Type]) -> Type:
    """The union of what flows out (sinks give nothing; only sinks: a sink)."""
    flowing = [o for o in outputs if not is_no_output(o)]
    if not flowing:
        return named_type(api, _consts.NO_OUTPUT, [])
    return make_simplified_union(flowing) if len(flowing) > 1 else flowing[0]


def _label(stage: Stage | None, expr: Expression | None) -> str:
    """A branch's label, as ``combinators.label_of``: its name, or its first stage's and "..."."""
    if stage is None:
        return "?"
    if stage.is_task or (stage.kind is not None and stage.first == stage.last and len(chain_names(expr)) == 1):
        return stage_name(stage, expr, last=False) or "?"
    return f"{stage_name(stage, expr, last=False) or '?'}..."

