"""Readable type names for messages: ``int``, ``list[str]``, ``int | None``, ``Literal['a']``."""

from __future__ import annotations

import enum
import typing
from typing import Any, TypeVar

from conveyor.typerules.tables import _CALLABLE, _MAX_DEPTH, _NONE_TYPE, _UNION_ORIGINS


# --------------------------------------------------------------------------- type_repr


def type_repr(tp: object) -> str:
    """Short readable name: int, list[str], dict[str, Any], int | None, Literal['a']."""
    try:
        return _repr(tp, 0)
    except Exception:
        return object.__repr__(tp)


def _repr(tp: object, depth: int) -> str:
    if depth > _MAX_DEPTH:
        return "..."
    simple = _simple_repr(tp)
    if simple is not None:
        return simple
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    sub = [_repr(a, depth + 1) for a in args]
    if any(origin is u for u in _UNION_ORIGINS):
        return " | ".join(sub)
    if origin is typing.Literal:
        return f"Literal[{', '.join(_literal_value_repr(a) for a in args)}]"
    if origin is typing.Annotated:
        return f"Annotated[{sub[0]}, {', '.join(repr(m) for m in args[1:])}]"
    if origin is _CALLABLE and len(args) == 2:
        return f"Callable[{sub[0]}, {sub[1]}]"
    if origin is tuple and not args:
        return "tuple[()]"
    if origin is not None:
        head = _repr(origin, depth + 1)
        return f"{head}[{', '.join(sub)}]" if args else head
    if isinstance(tp, type):
        return tp.__qualname__
    return repr(tp).replace("typing.", "")


def _simple_repr(tp: object) -> str | None:
    if tp is Any:
        return "Any"
    if tp is None or tp is _NONE_TYPE:
        return "None"
    if tp is Ellipsis:
        return "..."
    if isinstance(tp, str):
        return repr(tp)
    if isinstance(tp, typing.ForwardRef):
        return repr(tp.__forward_arg__)
    if isinstance(tp, (TypeVar, typing.ParamSpec, typing.TypeVarTuple, typing.NewType)):
        return str(tp.__name__)
    if isinstance(tp, list):  # Callable parameter list
        return "[" + ", ".join(_repr(a, 1) for a in tp) + "]"
    return None


def _literal_value_repr(value: object) -> str:
    if isinstance(value, enum.Enum):
        return f"{type(value).__qualname__}.{value.name}"
    return repr(value)
