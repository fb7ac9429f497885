"""The dispatcher: which hook of which feature handles which mypy callback.

mypy asks for hooks by the receiver's class (``conveyor.task.SingleTask.__or__``,
also for subclasses users write), so classes are matched by their bases, once each.
Every hook runs behind ``_safe``: an unexpected error inside the plugin is never
mypy's crash; the plain typing's result stands instead.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import TypeVar

from mypy.nodes import TypeInfo
from mypy.options import Options
from mypy.plugin import FunctionContext, FunctionSigContext, MethodContext, MethodSigContext, Plugin
from mypy.types import FunctionLike, Type

from conveyor_mypy import _consts
from conveyor_mypy._features import branching, calls, composition, dead_letters, options, side_inputs, stage_types

_Ctx = TypeVar("_Ctx")
_Result = TypeVar("_Result")

_DEBUG = bool(os.environ.get("CONVEYOR_MYPY_DEBUG"))


def _safe(hook: Callable[[_Ctx], _Result], fallback: Callable[[_Ctx], _Result]) -> Callable[[_Ctx], _Result]:
    @functools.wraps(hook)
    def guarded(ctx: _Ctx) -> _Result:
        try:
            return hook(ctx)
        except Exception as exc:  # never mypy's crash: plain typing decides instead
            if _DEBUG:
                print(f"conveyor_mypy: {hook.__name__} failed: {exc!r}", file=sys.stderr)
            return fallback(ctx)

    return guarded


def _default_type(ctx: FunctionContext | MethodContext) -> Type:
    return ctx.default_return_type


def _default_signature(ctx: MethodSigContext | FunctionSigContext) -> FunctionLike:
    return ctx.default_signature


def _single_task(ctx: FunctionContext | MethodContext) -> Type:
    return stage_types.decorator_hook(ctx, batch=False)


def _batch_task(ctx: FunctionContext | MethodContext) -> Type:
    return stage_types.decorator_hook(ctx, batch=True)


def _decorator_call(fullname: str, decorate: Callable[[FunctionContext], Type]) -> Callable[[FunctionContext], Type]:
    def hook(ctx: FunctionContext) -> Type:
        options.check_options(ctx, fullname)  # the options form: one message per bad option
        return decorate(ctx)

    hook.__name__ = decorate.__name__
    return hook


_FUNCTION_HOOKS: dict[str, Callable[[FunctionContext], Type]] = {
    _consts.SINGLE_DECORATOR: _safe(_decorator_call(_consts.SINGLE_DECORATOR, _single_task), _default_type),
    _consts.BATCH_DECORATOR: _safe(_decorator_call(_consts.BATCH_DECORATOR, _batch_task), _default_type),
    **{
        f"{_consts.BRANCHING}.{name}": _safe(branching.hook_for(name), _default_type)
        for name in _consts.BRANCHING_FUNCTIONS
    },
}
# The decorators' options, and fan(...), fork(...), ...: any arguments, judged by the
# function hooks above.
_FUNCTION_SIGNATURE_HOOKS: dict[str, Callable[[FunctionSigContext], FunctionLike]] = {
    _consts.SINGLE_DECORATOR: _safe(options.options_signature, _default_signature),
    _consts.BATCH_DECORATOR: _safe(options.options_signature, _default_signature),
    **{
        f"{_consts.BRANCHING}.{name}": _safe(branching.signature, _default_signature)
        for name in _consts.BRANCHING_FUNCTIONS
    },
}
# ``@single_task(...)`` with options returns a decorator object; applying it is a method call.
_DECORATOR_PROTOCOL_HOOKS: dict[str, Callable[[MethodContext], Type]] = {
    _consts.SINGLE_DECORATOR_PROTOCOL: _safe(_single_task, _default_type),
    _consts.BATCH_DECORATOR_PROTOCOL: _safe(_batch_task, _default_type),
}
# (method, receiver kind) -> hook
_SIGNATURE_HOOKS: dict[tuple[str, str], Callable[[MethodSigContext], FunctionLike]] = {
    ("__or__", "task"): _safe(composition.or_signature, _default_signature),
    ("__or__", "pipeline"): _safe(composition.or_signature, _default_signature),
    ("add", "pipeline"): _safe(composition.add_signature, _default_signature),
    ("with_inputs", "task"): _safe(side_inputs.with_inputs_signature, _default_signature),
    ("with_dead_letters", "task"): _safe(dead_letters.signature, _default_signature),
    ("with_dead_letters", "pipeline"): _safe(dead_letters.signature, _default_signature),
    ("__call__", "task"): _safe(calls.call_signature, _default_signature),
    ("as_completed", "task"): _safe(calls.call_signature, _default_signature),
    ("__call__", "pipeline"): _safe(calls.call_signature, _default_signature),
    ("as_completed", "pipeline"): _safe(calls.call_signature, _default_signature),
}
_METHOD_HOOKS: dict[tuple[str, str], Callable[[MethodContext], Type]] = {
    ("__or__", "task"): _safe(composition.or_hook, _default_type),
    ("__or__", "pipeline"): _safe(composition.or_hook, _default_type),
    ("add", "pipeline"): _safe(composition.add_hook, _default_type),
    ("with_inputs", "task"): _safe(side_inputs.with_inputs_hook, _default_type),
    ("with_dead_letters", "task"): _safe(dead_letters.hook, _default_type),
    ("with_dead_letters", "pipeline"): _safe(dead_letters.hook, _default_type),
    ("__call__", "task"): _safe(calls.call_hook, _default_type),
    ("as_completed", "task"): _safe(calls.call_hook, _default_type),
    ("__call__", "pipeline"): _safe(calls.call_hook, _default_type),
    ("as_completed", "pipeline"): _safe(calls.call_hook, _default_type),
}


_METHODS = frozenset(method for method, _ in _METHOD_HOOKS)


class ConveyorPlugin(Plugin):
    """Routes mypy's callbacks to ``conveyor_mypy._features``."""

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self._kinds: dict[str, str | None] = {}

    def get_function_hook(self, fullname: str) -> Callable[[FunctionContext], Type] | None:
        return _FUNCTION_HOOKS.get(fullname)

    def get_function_signature_hook(self, fullname: str) -> Callable[[FunctionSigContext], FunctionLike] | None:
        return _FUNCTION_SIGNATURE_HOOKS.get(fullname)

    def get_method_signature_hook(self, fullname: str) -> Callable[[MethodSigContext], FunctionLike] | None:
        cls, _, method = fullname.rpartition(".")
        if method not in _METHODS:
            return None
        return _SIGNATURE_HOOKS.get((method, self._kind(cls) or ""))

    def get_method_hook(self, fullname: str) -> Callable[[MethodContext], Type] | None:
        cls, _, method = fullname.rpartition(".")
        if method == "__call__" and cls in _DECORATOR_PROTOCOL_HOOKS:
            return _DECORATOR_PROTOCOL_HOOKS[cls]
        if method not in _METHODS:
            return None
        return _METHOD_HOOKS.get((method, self._kind(cls) or ""))

    def _kind(self, class_fullname: str) -> str | None:
        """"task", "pipeline" or None, by the class's bases (cached)."""
        if class_fullname in self._kinds:
            return self._kinds[class_fullname]
        symbol = self.lookup_fully_qualified(class_fullname)
        info = symbol.node if symbol is not None else None
        if not isinstance(info, TypeInfo):
            return None  # not known (yet): ask again next time
        kind = "task" if info.has_base(_consts.TASK) else "pipeline" if info.has_base(_consts.PIPELINE) else None
        self._kinds[class_fullname] = kind
        return kind
