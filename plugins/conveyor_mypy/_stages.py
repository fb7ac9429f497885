"""Tasks and pipelines as the plugin sees them: items in, items out, side inputs.

``read_stage`` turns a ``Task[In, Out, P]`` / ``Pipeline[In, Out]`` instance into a
``Stage``; ``with_facts`` writes what plain typing cannot hold (stage names
for messages, the TypeVars of a generic stage) onto an instance, in mypy's
``Instance.extra_attrs``. Losing those facts (a join of two types, an old mypy's
cache) only makes messages vaguer and generic stages ``Any``: never wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mypy.checker import TypeChecker
from mypy.lookup import lookup_fully_qualified
from mypy.maptype import map_instance_to_supertype
from mypy.nodes import (
    ARG_NAMED,
    ARG_OPT,
    ARG_POS,
    CallExpr,
    Expression,
    MemberExpr,
    NameExpr,
    OpExpr,
    TypeInfo,
)
from mypy.plugin import CheckerPluginInterface
from mypy.types import (
    AnyType,
    CallableType,
    ExtraAttrs,
    Instance,
    LiteralType,
    NoneType,
    Parameters,
    TupleType,
    Type,
    TypeOfAny,
    TypeVarLikeType,
    UninhabitedType,
    get_proper_type,
)

from conveyor_mypy import _consts


@dataclass
class Stage:
    """One task, or a whole pipeline seen from outside."""

    instance: Instance
    input: Type  # Never for a source
    output: Type  # NoOutput for a sink
    params: Parameters | None  # a task's side inputs; None: a pipeline, or unknown (``...``)
    variables: list[TypeVarLikeType] = field(default_factory=list)  # a generic stage's TypeVars
    first: str | None = None
    last: str | None = None
    batch_returns: Type | None = None  # the last stage is a batch task declaring this return
    #: The first step is a branching step: which (``route_by_type``, ...) and its branches.
    kind: str | None = None
    branches: list[Branch] | None = None
    branch_facts: Type | None = None  # the same branches as recorded on the type
    takes: Type | None = None  # what the step needs of every item besides its branches

    @property
    def is_task(self) -> bool:
        return self.instance.type.has_base(_consts.TASK)

    @property
    def is_source(self) -> bool:
        return isinstance(get_proper_type(self.input), UninhabitedType)

    @property
    def is_sink(self) -> bool:
        return is_no_output(self.output)

    def unbound(self) -> list[str]:
        """Required side inputs without a value (``with_inputs`` binds them)."""
        if self.params is None:
            return []
        return [
            name or f"#{index}"
            for index, (kind, name) in enumerate(zip(self.params.arg_kinds, self.params.arg_names))
            if kind in (ARG_POS, ARG_NAMED)
        ]


@dataclass
class Branch:
    """One branch of a branching step, as the composition check needs it.

    Recorded on the step's type as a pair: ``def [variables] (input[, narrowed]) ->
    output`` named ``label``, its first argument named after the branch's first stage
    and its second (a route's narrowed type) after what narrows it ("by 'is_circle'");
    then the branch's own type when it starts with a branching step (else None), so
    that nested branches are checked too."""

    label: str
    consumer: str | None  # the branch's first stage
    input: Type
    output: Type
    variables: list[TypeVarLikeType] = field(default_factory=list)
    narrowed: Type | None = None  # what a route hands this branch instead of the item type
    narrowed_by: str | None = None
    #: ``narrowed`` is what this branch never gets: the item type's union members that
    #: fit it are taken away (a TypeIs route's other branch).
    excludes: bool = False
    #: The branch starts with a branching step: its type (with that step's branches).
    nested: Instance | None = None

    def encode(self, api: CheckerPluginInterface) -> TupleType:
        args = [self.input] + ([self.narrowed] if self.narrowed is not None else [])
        names = [self.consumer] + ([self.narrowed_by or ""] if self.narrowed is not None else [])
        kinds = [ARG_POS] + ([ARG_OPT if self.excludes else ARG_POS] if self.narrowed is not None else [])
        fn = CallableType(
            args, kinds, names, self.output, api.named_generic_type("builtins.function", []),
            name=self.label, variables=self.variables,
        )
        nested: Type = self.nested if self.nested is not None else NoneType()
        return TupleType([fn, nested], api.named_generic_type("builtins.tuple", [AnyType(TypeOfAny.special_form)]))

    @staticmethod
    def decode(typ: Type) -> Branch | None:
        pair = get_proper_type(typ)
        if not isinstance(pair, TupleType) or len(pair.items) != 2:
            return None
        fn, nested = get_proper_type(pair.items[0]), get_proper_type(pair.items[1])
        if not isinstance(fn, CallableType) or fn.name is None or len(fn.arg_types) not in (1, 2):
            return None
        narrowed = fn.arg_types[1] if len(fn.arg_types) == 2 else None
        return Branch(
            fn.name, fn.arg_names[0], fn.arg_types[0], fn.ret_type, list(fn.variables), narrowed,
            fn.arg_names[1] if narrowed is not None else None, narrowed is not None and fn.arg_kinds[1] == ARG_OPT,
            nested if isinstance(nested, Instance) else None,
        )


def is_no_output(typ: Type) -> bool:
    proper = get_proper_type(typ)
    return isinstance(proper, Instance) and proper.type.fullname == _consts.NO_OUTPUT


def read_stage(typ: Type) -> Stage | None:
    """The stage behind a Task or Pipeline instance; None for anything else."""
    proper = get_proper_type(typ)
    if not isinstance(proper, Instance):
        return None
    info = proper.type
    if info.has_base(_consts.TASK):
        base = map_instance_to_supertype(proper, _find_base(proper, _consts.TASK))
        if len(base.args) != 3:
            return None
        item, output, side = base.args
        side_proper = get_proper_type(side)
        params = side_proper if isinstance(side_proper, Parameters) and not side_proper.is_ellipsis_args else None
    elif info.has_base(_consts.PIPELINE):
        base = map_instance_to_supertype(proper, _find_base(proper, _consts.PIPELINE))
        if len(base.args) != 2:
            return None
        item, output = base.args
        params = None
    else:
        return None
    stage = Stage(proper, item, output, params)
    attrs = proper.extra_attrs.attrs if proper.extra_attrs is not None else {}
    stage.first = _literal_str(attrs.get(_consts.FIRST))
    stage.last = _literal_str(attrs.get(_consts.LAST))
    stage.batch_returns = attrs.get(_consts.BATCH_RETURNS)
    generic = get_proper_type(attrs.get(_consts.GENERIC)) if _consts.GENERIC in attrs else None
    if isinstance(generic, CallableType) and generic.variables and len(generic.arg_types) == 1:
        stage.input, stage.output = generic.arg_types[0], generic.ret_type
        stage.variables = list(generic.variables)
    stage.kind = _literal_str(attrs.get(_consts.KIND))
    facts = get_proper_type(attrs.get(_consts.BRANCHES)) if _consts.BRANCHES in attrs else None
    if stage.kind is not None and isinstance(facts, TupleType):
        branches = [Branch.decode(item) for item in facts.items]
        if all(b is not None for b in branches):
            stage.branches = [b for b in branches if b is not None]
            stage.branch_facts = facts
            stage.takes = attrs.get(_consts.TAKES)
    return stage


def _find_base(instance: Instance, fullname: str) -> TypeInfo:
    for base in instance.type.mro:
        if base.fullname == fullname:
            return base
    raise LookupError(fullname)


def _literal_str(typ: Type | None) -> str | None:
    proper = get_proper_type(typ) if typ is not None else None
    if isinstance(proper, LiteralType) and isinstance(proper.value, str):
        return proper.value
    return None


def with_facts(
    api: CheckerPluginInterface,
    instance: Instance,
    *,
    first: str | None,
    last: str | None,
    generic: CallableType | None = None,
    batch_returns: Type | None = None,
    kind: str | None = None,
    branches: Type | None = None,
    takes: Type | None = None,
) -> Instance:
    """``instance`` carrying the facts plain typing cannot hold."""
    attrs: dict[str, Type] = {}
    str_type = api.named_generic_type("builtins.str", [])
    if first is not None:
        attrs[_consts.FIRST] = LiteralType(first, str_type)
    if last is not None:
        attrs[_consts.LAST] = LiteralType(last, str_type)
    if generic is not None and generic.variables:
        attrs[_consts.GENERIC] = generic
    if batch_returns is not None:
        attrs[_consts.BATCH_RETURNS] = batch_returns
    if kind is not None and branches is not None:
        attrs[_consts.KIND] = LiteralType(kind, str_type)
        attrs[_consts.BRANCHES] = branches
        if takes is not None:
            attrs[_consts.TAKES] = takes
    result = instance.copy_modified()
    result.extra_attrs = ExtraAttrs(attrs, set(attrs), None) if attrs else None
    return result


def stage_signature(api: CheckerPluginInterface, item: Type, output: Type, variables: list[TypeVarLikeType]) -> CallableType:
    """``def [variables] (item) -> output``: a stage as a function of its items."""
    return CallableType(
        [item], [ARG_POS], [None], output, api.named_generic_type("builtins.function", []), variables=variables
    )


def named_type(api: CheckerPluginInterface, fullname: str, args: list[Type]) -> Instance:
    """``fullname[args]``. Unlike ``api.named_generic_type``, it finds classes of modules
    that are not attributes of their package (``conveyor.task`` is not imported as such)."""
    chk = checker(api)
    if chk is not None:
        symbol = lookup_fully_qualified(fullname, chk.modules)
        if symbol is not None and isinstance(symbol.node, TypeInfo):
            return Instance(symbol.node, args)
    return api.named_generic_type(fullname, args)


def any_type() -> AnyType:
    return AnyType(TypeOfAny.special_form)


def checker(api: CheckerPluginInterface) -> TypeChecker | None:
    """mypy's type checker behind the plugin interface (it always is one)."""
    return api if isinstance(api, TypeChecker) else None


# -- names of stages, for messages -----------------------------------------------------------


#: Methods that return the same stage, differently configured: its name stays.
_SAME_STAGE = ("with_inputs", "with_dead_letters")


def stage_name(stage: Stage | None, expr: Expression | None, *, last: bool) -> str | None:
    """The first (or last) stage's name: recorded on the type, else read from the code."""
    if stage is not None:
        recorded = stage.last if last else stage.first
        if recorded is not None:
            return recorded
    return expr_name(expr, last=last)


def expr_name(expr: Expression | None, *, last: bool) -> str | None:
    """``parse`` in ``parse``, ``obj.parse``, ``parse.with_inputs(...)``, ``(a | parse)``,
    ``parse.with_dead_letters(...)``."""
    for _ in range(100):
        if isinstance(expr, OpExpr) and expr.op == "|":
            expr = expr.right if last else expr.left
        elif isinstance(expr, CallExpr) and isinstance(expr.callee, MemberExpr) and expr.callee.name in _SAME_STAGE:
            expr = expr.callee.expr
        elif isinstance(expr, (NameExpr, MemberExpr)):
            return expr.name
        else:
            return None
    return None


def quoted(name: str | None, fallback: str) -> str:
    return repr(name) if name is not None else fallback


def chain_names(expr: Expression | None) -> list[str | None]:
    """The stage names of ``a | b.with_inputs(...) | c``, left to right (one entry per
    operand; None where a name cannot be read)."""
    names: list[str | None] = []
    pending: list[Expression | None] = [expr]
    while pending and len(names) < 100:
        current = pending.pop()
        if isinstance(current, OpExpr) and current.op == "|":
            pending += [current.right, current.left]
        else:
            names.append(expr_name(current, last=False))
    return names
