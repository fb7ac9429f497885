"""``@single_task`` / ``@batch_task``: the task's exact type from the decorated function.

Mirrors ``conveyor.stage_types`` (through the tables of ``conveyor_mypy._rules``) where
plain overloads cannot: ``int | str | None`` outputs ``int | str`` (mypy's overload
inference joins it to ``object``), a generator is told from a function that returns
an iterator by its body, not its annotation, and a generic function keeps its
TypeVars (recorded on the type, solved at ``|`` and at calls; the type arguments
themselves become ``Any``, so nothing else sees a free TypeVar).
"""

from __future__ import annotations

import enum

from mypy.nodes import ARG_OPT, ARG_POS, FUNC_NO_INFO, CallExpr, Decorator, FuncDef, RefExpr, StrExpr
from mypy.plugin import FunctionContext, MethodContext
from mypy.types import (
    AnyType,
    CallableType,
    Instance,
    NoneType,
    Parameters,
    Type,
    TypeOfAny,
    UninhabitedType,
    UnionType,
    get_proper_type,
)
from mypy.erasetype import erase_typevars

from conveyor_mypy import _consts, _rules
from conveyor_mypy._stages import named_type, stage_signature, with_facts


class Shape(enum.Enum):
    """What a call of the function gives back (``conveyor.invoke.CallShape``)."""

    VALUE = "value"
    AWAITABLE = "awaitable"
    ITERATOR = "iterator"
    ASYNC_ITERATOR = "async_iterator"

    @property
    def fans_out(self) -> bool:
        return self in (Shape.ITERATOR, Shape.ASYNC_ITERATOR)


def decorator_hook(ctx: FunctionContext | MethodContext, *, batch: bool) -> Type:
    """The hook for ``single_task(fn)`` / ``batch_task(fn)`` and their options forms."""
    default = ctx.default_return_type
    if len(ctx.arg_types) != 1 or len(ctx.arg_types[0]) != 1:
        return default
    function = get_proper_type(ctx.arg_types[0][0])
    if not isinstance(function, CallableType):
        return default
    definition = _definition(ctx)
    if definition is not None and (definition.is_class or definition.is_static or definition.is_property):
        return default
    is_method = definition is not None and definition.info is not FUNC_NO_INFO
    shape = _shape(definition, function)

    kinds = function.arg_kinds
    has_item = bool(kinds) and kinds[0] in (ARG_POS, ARG_OPT)
    if is_method and not has_item:
        return default  # a method without self: leave it to plain typing
    if has_item:
        item: Type = function.arg_types[0]
        side = slice(1, None)
        if batch and not is_method:
            element = _batch_element(item)
            if element is None:
                return default  # not a list parameter: an error at decoration time
            item = element
    else:
        item, side = UninhabitedType(), slice(0, None)
    params = Parameters(function.arg_types[side], function.arg_kinds[side], function.arg_names[side])

    output = output_type(function.ret_type, shape=shape, batch=batch)
    if output is None:  # a sink
        output = named_type(ctx.api, _consts.NO_OUTPUT, [])

    name = _task_name(ctx) or (definition.name if definition is not None else _function_name(function))
    generic = stage_signature(ctx.api, item, output, list(function.variables)) if function.variables else None
    if generic is not None:  # the type arguments stay free of the function's TypeVars
        item, output = erase_typevars(item), erase_typevars(output)
        params = params.copy_modified(arg_types=[erase_typevars(t) for t in params.arg_types])
    cls = _consts.BATCH_TASK if batch else _consts.SINGLE_TASK
    instance = named_type(ctx.api, cls, [item, output, params])
    returns = (_awaited(function.ret_type) or function.ret_type) if batch and not shape.fans_out else None
    return with_facts(ctx.api, instance, first=name, last=name, generic=generic, batch_returns=returns)


# -- the rules ----------------------------------------------------------------------------------


def output_type(returns: Type, *, shape: Shape, batch: bool) -> Type | None:
    """What flows out of a stage whose function is declared to return ``returns``;
    None for a sink. Mirrors ``conveyor.stage_types._output_type``."""
    ret: Type = get_proper_type(returns)
    if shape is Shape.AWAITABLE or shape is Shape.VALUE:
        # mypy spells `async def f() -> R` as returning Coroutine[Any, Any, R]; a sync
        # function annotated -> Awaitable[R] emits R too.
        ret = _awaited(ret) or ret
    if shape.fans_out:
        return _drop_none(_yielded(ret))
    dropped = _drop_none(ret)
    if dropped is None:
        return None
    element = _fanned_out(dropped) if batch else None
    return _drop_none(element) if element is not None else dropped


def _fanned_out(typ: Type) -> Type | None:
    proper = get_proper_type(typ)
    if isinstance(proper, Instance) and proper.type.fullname == _rules.FANS_OUT:
        return proper.args[0] if proper.args else AnyType(TypeOfAny.implementation_artifact)
    return None


def _awaited(typ: Type) -> Type | None:
    proper = get_proper_type(typ)
    if isinstance(proper, Instance) and proper.type.fullname in _rules.AWAITABLES:
        return proper.args[-1] if proper.args else AnyType(TypeOfAny.implementation_artifact)
    return None


def _yielded(typ: Type) -> Type:
    proper = get_proper_type(typ)
    if isinstance(proper, Instance) and proper.type.fullname in _rules.ITERATORS:
        return proper.args[0] if proper.args else AnyType(TypeOfAny.implementation_artifact)
    return AnyType(TypeOfAny.implementation_artifact)  # a generator annotated otherwise: nothing to read


def _drop_none(typ: Type) -> Type | None:
    """``R | None`` -> ``R``: None is dropped, never delivered (None: only None is left)."""
    proper = get_proper_type(typ)
    if isinstance(proper, NoneType):
        return None
    if not isinstance(proper, UnionType):
        return typ
    members = [m for m in proper.items if not isinstance(get_proper_type(m), NoneType)]
    if len(members) == len(proper.items):
        return typ
    if not members:
        return None
    return UnionType.make_union(members)


def _batch_element(annotation: Type) -> Type | None:
    """``T`` of ``list[T]`` / ``Sequence[T]`` ... (``stage_types.batch_element_type``)."""
    proper = get_proper_type(annotation)
    if isinstance(proper, AnyType):
        return proper
    if isinstance(proper, Instance) and proper.type.fullname in _rules.BATCH_INPUTS:
        return proper.args[0] if proper.args else AnyType(TypeOfAny.implementation_artifact)
    return None


# -- where the decorator is used ----------------------------------------------------------------


def _definition(ctx: FunctionContext | MethodContext) -> FuncDef | None:
    """The decorated function's definition, when it can be seen."""
    if isinstance(ctx.context, Decorator):
        return ctx.context.func
    args = ctx.args[0] if ctx.args else []
    if len(args) == 1 and isinstance(args[0], RefExpr):
        node = args[0].node
        if isinstance(node, Decorator):
            return node.func
        if isinstance(node, FuncDef):
            return node
    return None


def _shape(definition: FuncDef | None, function: CallableType) -> Shape:
    """From the function's body when it is visible (a generator is a generator whatever
    its annotation says), else from its type, as plain typing does."""
    if definition is not None:
        if definition.is_async_generator:
            return Shape.ASYNC_ITERATOR
        if definition.is_coroutine:
            return Shape.AWAITABLE
        if definition.is_generator:
            return Shape.ITERATOR
        return Shape.VALUE
    ret = get_proper_type(function.ret_type)
    if isinstance(ret, Instance):
        if ret.type.fullname == "typing.Coroutine":
            return Shape.AWAITABLE
        if ret.type.fullname in ("typing.AsyncIterator", "typing.AsyncGenerator"):
            return Shape.ASYNC_ITERATOR
        if ret.type.fullname in ("typing.Iterator", "typing.Generator"):
            return Shape.ITERATOR
    return Shape.VALUE


def _task_name(ctx: FunctionContext | MethodContext) -> str | None:
    """``task_name="..."`` given to the decorator, when written as a string literal."""
    calls: list[CallExpr] = []
    if isinstance(ctx.context, Decorator):
        calls = [d for d in ctx.context.decorators if isinstance(d, CallExpr)]
    elif isinstance(ctx.context, CallExpr) and isinstance(ctx.context.callee, CallExpr):
        calls = [ctx.context.callee]
    for call in calls:
        callee = call.callee
        if not (isinstance(callee, RefExpr) and callee.fullname in (_consts.SINGLE_DECORATOR, _consts.BATCH_DECORATOR)):
            continue
        for arg_name, arg in zip(call.arg_names, call.args):
            if arg_name == "task_name" and isinstance(arg, StrExpr) and arg.value:
                return arg.value
    return None


def _function_name(function: CallableType) -> str | None:
    """mypy names a method's type "name of Class"."""
    return function.name.split(" of ")[0] if function.name else None
