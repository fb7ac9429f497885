"""``@single_task(...)`` / ``@batch_task(...)`` with options: one message per bad option.

The options form is the decorator's last overload. A value of the wrong type
(``on_error="skip"``) matches no overload, so plain mypy lists every candidate (15 for
``single_task``, 25 for ``batch_task``) and then reports the decorated function as
untyped. For a call with keywords only, the signature hook lets the options overload
take any value, and the function hook checks each one against the declared option
type instead: one ``arg-type`` error, worded as mypy words it for a plain function,
on the argument, with the allowed values (a Literal's), and the decorator keeps its
type.
"""

from __future__ import annotations

from mypy import errorcodes
from mypy.checker import TypeChecker
from mypy.nodes import ARG_NAMED, ARG_NAMED_OPT, CallExpr, Context, Expression, OverloadedFuncDef, StrExpr
from mypy.plugin import CheckerPluginInterface, FunctionContext, FunctionSigContext
from mypy.subtypes import is_subtype
from mypy.types import CallableType, Instance, LiteralType, Overloaded, Type, UnionType, get_proper_type

from conveyor_mypy._typeops import format_type

_DECORATORS = {"conveyor.decorators.single_task": "single_task", "conveyor.decorators.batch_task": "batch_task"}


def options_signature(ctx: FunctionSigContext) -> CallableType:
    sig = ctx.default_signature
    if not _keywords_only(ctx.context) or not _is_options_form(sig):
        return sig
    anything = ctx.api.named_generic_type("builtins.object", [])
    return sig.copy_modified(arg_types=[anything] * len(sig.arg_types))


def check_options(ctx: FunctionContext, fullname: str) -> None:
    """Report each option whose value does not have the declared type."""
    if not _keywords_only(ctx.context):
        return
    declared = _declared_options(ctx.api, fullname)
    if declared is None:
        return
    expected = dict(zip(declared.arg_names, declared.arg_types))
    for name, actual_types, actual_args in zip(ctx.callee_arg_names, ctx.arg_types, ctx.args):
        formal = expected.get(name) if name is not None else None
        if formal is None:
            continue
        for actual, expr in zip(actual_types, actual_args):
            _check_one(ctx.api, _DECORATORS[fullname], name or "", actual, formal, expr)


def _check_one(api: CheckerPluginInterface, function: str, name: str, actual: Type, formal: Type, expr: Expression) -> None:
    narrow = _narrowest(actual, expr)
    if is_subtype(narrow, formal):
        return
    # As mypy says it: "Literal['skip']" where literals are expected, else "str".
    actual = narrow if _has_literal(formal) else _widest(actual)
    api.fail(
        f'Argument "{name}" to "{function}" has incompatible type "{format_type(actual, api)}"; '
        f'expected "{format_type(formal, api)}"',
        expr,
        code=errorcodes.ARG_TYPE,
    )


def _narrowest(actual: Type, expr: Expression) -> Type:
    """A literal argument's literal type (``"skip"`` is ``Literal['skip']``, not ``str``)."""
    proper = get_proper_type(actual)
    if isinstance(proper, Instance) and proper.last_known_value is not None:
        return proper.last_known_value
    if isinstance(expr, StrExpr) and isinstance(proper, Instance) and proper.type.fullname == "builtins.str":
        return LiteralType(expr.value, proper)
    return actual


def _widest(actual: Type) -> Type:
    proper = get_proper_type(actual)
    if isinstance(proper, LiteralType):
        return proper.fallback
    if isinstance(proper, Instance) and proper.last_known_value is not None:
        return proper.copy_modified(last_known_value=None)
    return actual


def _has_literal(formal: Type) -> bool:
    proper = get_proper_type(formal)
    if isinstance(proper, LiteralType):
        return True
    # A union may hold an alias of literals (``executor``: ExecutorName | Executor | Backend).
    return isinstance(proper, UnionType) and any(_has_literal(item) for item in proper.items)


def _keywords_only(context: Context) -> bool:
    return isinstance(context, CallExpr) and bool(context.args) and all(
        kind == ARG_NAMED for kind in context.arg_kinds
    )


def _is_options_form(sig: CallableType) -> bool:
    return bool(sig.arg_kinds) and all(kind in (ARG_NAMED, ARG_NAMED_OPT) for kind in sig.arg_kinds)


def _declared_options(api: CheckerPluginInterface, fullname: str) -> CallableType | None:
    module, _, name = fullname.rpartition(".")
    tree = api.modules.get(module) if isinstance(api, TypeChecker) else None
    symbol = tree.names.get(name) if tree is not None else None
    node = symbol.node if symbol is not None else None
    declared = get_proper_type(node.type) if isinstance(node, OverloadedFuncDef) and node.type is not None else None
    if not isinstance(declared, Overloaded):
        return None
    forms = [item for item in declared.items if _is_options_form(item)]
    return forms[-1] if forms else None
