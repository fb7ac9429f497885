"""Small operations on mypy types that stay the same across the supported mypy versions."""

from __future__ import annotations

from mypy.messages import format_type_bare
from mypy.plugin import CheckerPluginInterface
from mypy.types import (
    CallableType,
    Instance,
    Overloaded,
    Parameters,
    TupleType,
    Type,
    TypedDictType,
    TypeType,
    TypeVarId,
    TypeVarLikeType,
    UnionType,
    get_proper_type,
)

from conveyor_mypy import _consts


def format_type(typ: Type, api: CheckerPluginInterface) -> str:
    """As mypy writes types in messages; a sink's output is "nothing"."""
    proper = get_proper_type(typ)
    if isinstance(proper, Instance) and proper.type.fullname == _consts.NO_OUTPUT:
        return "nothing"
    return format_type_bare(typ, api.options)


def free_type_vars(typ: Type, depth: int = 0) -> set[TypeVarId]:
    """The ids of the TypeVars (and ParamSpecs) that occur in ``typ``."""
    found: set[TypeVarId] = set()
    if depth > 40:
        return found
    proper = get_proper_type(typ)
    if isinstance(proper, TypeVarLikeType):
        found.add(proper.id)
        return found
    children: list[Type] = []
    if isinstance(proper, Instance):
        children = list(proper.args)
    elif isinstance(proper, UnionType):
        children = list(proper.items)
    elif isinstance(proper, TupleType):
        children = list(proper.items)
    elif isinstance(proper, (CallableType, Parameters)):
        children = list(proper.arg_types)
        if isinstance(proper, CallableType):
            children.append(proper.ret_type)
    elif isinstance(proper, Overloaded):
        children = list(proper.items)
    elif isinstance(proper, TypedDictType):
        children = list(proper.items.values())
    elif isinstance(proper, TypeType):
        children = [proper.item]
    for child in children:
        found |= free_type_vars(child, depth + 1)
    return found
