"""Composition-time type checking: the types flowing along a pipeline, junction by junction.

When stages are composed, each junction checks the type the upstream stage produces
against the type the downstream stage expects (``typerules``), binds the TypeVars of
generic stages, and carries the (substituted) output type on. The mode decides what
a definite mismatch does: ``strict`` raises ``PipelineTypeError`` at the ``|``,
``lax`` warns, ``off`` skips the check. Anything the rules cannot decide is accepted.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeVar, get_args

from conveyor.errors import PipelineTypeError, PipelineTypeWarning
from conveyor.policy import short_repr
from conveyor.stage_types import NOTHING
from conveyor.task import Task
from conveyor.typerules import (
    TypeVarConflict,
    Verdict,
    check_fit,
    has_typevars,
    solve_typevars,
    substitute,
    type_repr,
)

__all__ = ["TypecheckMode", "ENV_VAR", "default_mode", "typecheck_mode", "Junction", "flow_through"]

TypecheckMode = Literal["strict", "lax", "off"]
"""What a type mismatch at a ``|`` does: ``"strict"`` raises ``PipelineTypeError``,
``"lax"`` warns (``PipelineTypeWarning``) and composes, ``"off"`` composes silently.
The default is $CONVEYOR_TYPECHECK, else ``"strict"``."""
ENV_VAR: Final = "CONVEYOR_TYPECHECK"
_MODES: Final = get_args(TypecheckMode)
log = logging.getLogger("conveyor.typecheck")
_override: ContextVar[TypecheckMode | None] = ContextVar("conveyor_typecheck_mode", default=None)


def validate_mode(mode: object, source: str = "typecheck") -> TypecheckMode:
    if not isinstance(mode, str):  # the one rule (conveyor.options): a wrong type is a TypeError
        raise TypeError(f"{source} must be one of {', '.join(map(repr, _MODES))} (a str), got {mode!r}")
    if mode not in _MODES:
        raise ValueError(f"{source}={mode!r} is not a type-check mode; use one of {', '.join(map(repr, _MODES))}")
    return mode  # type: ignore[return-value]  # membership checked above


def default_mode() -> TypecheckMode:
    """The innermost ``typecheck_mode(...)`` block, else $CONVEYOR_TYPECHECK, else strict."""
    override = _override.get()
    if override is not None:
        return override
    env = os.environ.get(ENV_VAR)
    return validate_mode(env, ENV_VAR) if env else "strict"


@contextlib.contextmanager
def typecheck_mode(mode: TypecheckMode) -> Iterator[None]:
    """Compose pipelines in this block with ``mode`` ("strict", "lax" or "off")."""
    token = _override.set(validate_mode(mode))
    try:
        yield
    finally:
        _override.reset(token)


@dataclass(frozen=True, slots=True)
class Junction:
    """One item edge of a pipeline: what flows on it, and whether it fits.

    The edge into a branching step (fan, fork, ...) also holds the flow through each
    of its branches, checked with the type that arrives here.
    """

    produced: Any  # the type flowing on the edge (NOTHING after a sink)
    mismatch: PipelineTypeError | None = None  # set when the check found a definite misfit
    branches: tuple[tuple[Junction, ...], ...] = ()


def flow_through(
    stages: Sequence[Any],
    incoming: Any,
    producer: Any,
    mode: TypecheckMode,
    *,
    where: str | None = None,
) -> list[Junction]:
    """The junction INTO each stage and the outgoing one, starting from ``incoming``.

    In strict mode the first mismatch raises; in lax mode it warns and the flow goes
    on with the consumer's declared output. ``where`` names the branch these stages
    are in, for the messages.
    """
    junctions: list[Junction] = []
    current = incoming
    for stage in stages:
        branches: tuple[tuple[Junction, ...], ...] = ()
        flow = getattr(stage, "flow_from", None)
        if flow is not None:  # a branching step checks its own branches
            mismatch, output, branches = flow(producer, current, mode)  # branch mismatches: reported inside
        elif mode != "off":
            mismatch, output = _junction(producer, current, stage)
        else:
            mismatch, output = None, _unchecked(stage)
        if mismatch is not None:
            if where is not None:
                mismatch.located(where)
            if mode == "strict":
                raise mismatch
            warnings.warn(PipelineTypeWarning(str(mismatch)), stacklevel=_user_stacklevel())
        junctions.append(Junction(current, mismatch, branches))
        current, producer = output, stage
    junctions.append(Junction(current))
    return junctions


def _unchecked(stage: Task[Any, Any]) -> Any:
    return substitute(stage.types.output, {}) if has_typevars(stage.types.output) else stage.types.output


def _junction(producer: Task[Any, Any] | None, produced: Any, consumer: Task[Any, Any]) -> tuple[PipelineTypeError | None, Any]:
    types = consumer.types
    if producer is None or consumer.is_source:  # the pipeline's own input: nothing to check
        return None, _unchecked(consumer)
    if produced is NOTHING:
        return _mismatch(producer, consumer, produced, types.input, None,
                         f"{producer.name!r} returns None, so it is a sink: nothing flows out of it"), types.output
    bindings: dict[TypeVar, object] = {}
    check = check_fit(produced, types.input)
    if check.verdict is Verdict.MISMATCH:
        return _mismatch(producer, consumer, produced, types.input, check.reason, _hint(producer, produced, types.input)), types.output
    if not has_typevars(types.input) and not has_typevars(types.output):
        return None, types.output
    try:
        solve_typevars(types.input, produced, bindings)
    except TypeVarConflict as conflict:
        return _mismatch(producer, consumer, produced, types.input, str(conflict), None), substitute(types.output, {})
    return None, substitute(types.output, bindings)


def _hint(producer: Task[Any, Any] | None, produced: Any, expected: Any) -> str | None:
    if producer is None or producer.kind != "batch":
        return None
    expected_text = type_repr(expected)
    if expected_text.startswith(("list[", "Sequence[", "Iterable[")) and producer.signature.returns is not None:
        return (
            f"a batch task's list return fans out: {producer.name!r} sends single "
            f"{type_repr(produced)} items downstream, not {type_repr(producer.signature.returns)}"
        )
    return None


def _mismatch(
    producer: Task[Any, Any] | None,
    consumer: Task[Any, Any],
    produced: Any,
    expected: Any,
    reason: str | None,
    hint: str | None,
) -> PipelineTypeError:
    return PipelineTypeError(
        producer=producer,
        consumer=consumer,
        produced=produced,
        expected=expected,
        reason=reason,
        hint=hint,
    )


# -- side inputs -------------------------------------------------------------------------


def check_side_input_value(task: Task[Any, Any], param: str, value: Any, annotation: Any) -> None:
    """A plain side-input value must match its parameter's annotation (typeguard)."""
    problem = value_problem(value, annotation)
    if problem is not None:
        _report(
            TypeError(
                f"task {task.name!r} ({task.defined_at}): side input {param!r} expects "
                f"{type_repr(annotation)}, got {short_repr(value)}: {problem}"
            )
        )


def check_side_input_flow(task: Task[Any, Any], param: str, produced: Any, annotation: Any, all_items: bool) -> None:
    """A pipeline side input: its items (or the list of them) must fit the parameter."""
    expected = _element_of(annotation) if all_items else annotation
    if produced is NOTHING:
        check = None
        reason: str | None = "the side-input pipeline ends in a sink: it produces nothing"
    else:
        check = check_fit(produced, expected)
        reason = check.reason
    if check is None or check.verdict is Verdict.MISMATCH:
        _report(
            PipelineTypeError(
                producer=None, consumer=task, produced=produced, expected=expected,
                reason=reason, parameter=param,
                hint=f"side input {param!r} {'takes all items' if all_items else 'takes one item'} of its pipeline",
            )
        )


def check_side_input_made(task: Task[Any, Any], param: str, factory: Any, made: Any, annotation: Any) -> None:
    """A ``per_worker`` side input: what its factory is declared to return must fit the parameter."""
    check = check_fit(made, annotation)
    if check.verdict is Verdict.MISMATCH:
        name = getattr(factory, "__qualname__", type(factory).__name__)
        _report(
            TypeError(
                f"task {task.name!r} ({task.defined_at}): side input {param!r} expects "
                f"{type_repr(annotation)}, but its factory {name} makes {type_repr(made)}"
                + (f": {check.reason}" if check.reason else "")
            )
        )


def value_problem(value: Any, annotation: Any) -> str | None:
    """Why ``value`` does not match ``annotation``, or None (also when typeguard cannot tell)."""
    if annotation is Any:
        return None
    from typeguard import CollectionCheckStrategy, TypeCheckError, check_type  # only when a value is bound: not with conveyor

    try:
        check_type(value, annotation, collection_check_strategy=CollectionCheckStrategy.ALL_ITEMS)
    except TypeCheckError as exc:
        return str(exc)
    except Exception as exc:  # an annotation typeguard cannot check: accept, never crash
        log.debug("cannot check %r against %r: %r", value, annotation, exc)
    return None


def _element_of(annotation: Any) -> Any:
    args = getattr(annotation, "__args__", None)
    return args[0] if args else Any


def _report(error: TypeError) -> None:
    mode = default_mode()
    if mode == "strict":
        raise error
    if mode == "lax":
        warnings.warn(PipelineTypeWarning(str(error)), stacklevel=_user_stacklevel())


_PACKAGE_DIR: Final = os.path.dirname(os.path.realpath(__file__))


def _user_stacklevel() -> int:
    """The stacklevel that points a warning at the user's ``|`` line, not at conveyor."""
    frame = sys._getframe(1)
    level = 1
    while frame is not None and os.path.realpath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level
