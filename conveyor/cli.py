"""The ``conveyor`` command (also ``python -m conveyor``): check, draw and outline pipelines.

    conveyor check   app.flows:ingest            are the stages' types compatible?
    conveyor render  app.flows:ingest -o ingest.svg
    conveyor outline app.flows:ingest

A target is ``module:attribute`` (a dotted module importable from the current
directory, or a path to a ``.py`` file) naming a pipeline or a task; with no
``:attribute`` the module's only pipeline is taken.

Exit status: 0 fine, 1 the stages' types do not fit (``check``), 2 a usage
error (bad module, missing attribute, not a pipeline, Graphviz missing ...).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import linecache
import os
import re
import sys
import traceback
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any, Final

from conveyor.errors import PipelineTypeError, PipelineTypeWarning
from conveyor.pipeline import Pipeline
from conveyor.task import Task
from conveyor.typecheck import typecheck_mode

__all__ = ["main", "EXIT_OK", "EXIT_MISMATCH", "EXIT_USAGE"]

EXIT_OK: Final = 0
EXIT_MISMATCH: Final = 1
EXIT_USAGE: Final = 2

_PACKAGE_DIR: Final = str(Path(__file__).resolve().parent) + os.sep


class UsageError(Exception):
    """A problem with what was asked (exit status 2), explained in one message."""


@dataclass(frozen=True, slots=True)
class Mismatch:
    """A type error and where its ``|`` is written (when known)."""

    error: PipelineTypeError
    where: tuple[str, int] | None

    def report(self) -> str:
        if self.where is None:
            return str(self.error)
        path, line = self.where
        code = linecache.getline(path, line).strip()
        text = f"{_relative(path)}:{line}: {self.error}"
        return f"{text}\n    {line} | {code}" if code else text


@dataclass(slots=True)
class Loaded:
    """What importing a target gave: the pipeline, or the type error that stopped the import."""

    name: str
    pipeline: Pipeline[Any, Any] | None = None
    import_error: Mismatch | None = None
    attr: str | None = None
    warned: list[tuple[str, tuple[str, int]]] = field(default_factory=list)  # lax warnings: text, line

    def mismatches(self) -> list[Mismatch]:
        """Every mismatch: the one that stopped the import, or those on the pipeline's graph."""
        if self.import_error is not None:
            return [self.import_error]
        assert self.pipeline is not None
        found = [m for *_, m in self.pipeline.graph.edges(data="mismatch") if m is not None]
        return [Mismatch(error, self._place(str(error))) for error in found]

    def _place(self, text: str) -> tuple[str, int] | None:
        """Where the warning with this text was raised; when two ``|`` lines warned the
        same (``b = x | y`` then ``c = x | y | z``), the one naming our attribute."""
        places = [where for warned, where in self.warned if warned == text]
        name = (self.attr or "").rpartition(".")[2]
        ours = [w for w in places if name and re.search(rf"\b{re.escape(name)}\b", linecache.getline(*w))]
        candidates = ours or places
        return candidates[0] if candidates else None


# -- commands ------------------------------------------------------------------------------


def _check(args: argparse.Namespace) -> int:
    loaded = load(args.target, lax=args.lax)
    problems = loaded.mismatches()
    if problems:
        for problem in problems:
            print(problem.report())
        count = len(problems)
        if loaded.import_error is not None:
            print(f"{loaded.name}: the module stops at this type mismatch while importing "
                  f"(--lax imports it anyway and checks {loaded.name} alone)")
        else:
            print(f"{loaded.name}: {count} type mismatch{'es' if count > 1 else ''}")
        return EXIT_MISMATCH
    assert loaded.pipeline is not None
    pipeline = loaded.pipeline
    count = len(pipeline.stages)
    print(f"ok: {loaded.name}: {pipeline.name} ({count} stage{'s' if count != 1 else ''}, the types fit)")
    return EXIT_OK


def _render(args: argparse.Namespace) -> int:
    from conveyor.render import GraphvizNotFound, render

    pipeline = _loaded_pipeline(args.target)
    try:
        path = render(pipeline, args.output, format=args.format)
    except GraphvizNotFound as exc:
        raise UsageError(str(exc)) from exc
    except ValueError as exc:  # no or unknown image format
        raise UsageError(str(exc)) from exc
    mismatches = sum(1 for *_, m in pipeline.graph.edges(data="mismatch") if m is not None)
    note = f" ({mismatches} type mismatch{'es' if mismatches > 1 else ''} drawn in red)" if mismatches else ""
    print(f"wrote {path}{note}")
    return EXIT_OK


def _outline(args: argparse.Namespace) -> int:
    print(_loaded_pipeline(args.target).outline())
    return EXIT_OK


def _loaded_pipeline(target: str) -> Pipeline[Any, Any]:
    """Render and outline import under lax checking, so a mismatching pipeline can be shown."""
    loaded = load(target, lax=True)
    if loaded.import_error is not None:  # a pipeline that insists on strict checking itself
        raise UsageError(f"cannot build {loaded.name}:\n{loaded.import_error.report()}")
    assert loaded.pipeline is not None
    return loaded.pipeline


# -- loading targets -----------------------------------------------------------------------


def load(target: str, *, lax: bool = False) -> Loaded:
    """Import ``module:attr`` and return its pipeline (a task becomes a one-stage pipeline).

    A strict mismatch raises at the module's ``|``: it is caught and returned with
    that line. With ``lax`` the module is composed in lax mode, so every mismatch
    ends up on the graph, located through the warning it raised.
    """
    module_part, attr = _split_target(target)
    loaded = Loaded(target, attr=attr)
    mode = typecheck_mode("lax") if lax else nullcontext()
    with warnings.catch_warnings(record=True) as caught, mode:
        warnings.simplefilter("always", PipelineTypeWarning)
        try:
            module = _import(module_part)
        except PipelineTypeError as exc:
            loaded.import_error = Mismatch(exc, _user_frame(exc.__traceback__))
            return loaded
    for record in caught:
        if issubclass(record.category, PipelineTypeWarning):
            loaded.warned.append((str(record.message), (record.filename, record.lineno)))
        else:
            warnings.showwarning(record.message, record.category, record.filename, record.lineno)
    value = _attribute(module, module_part, attr)
    if isinstance(value, Task):
        value = Pipeline.of(value)
    if not isinstance(value, Pipeline):
        raise UsageError(
            f"{target} is {_a(type(value).__name__)}, not a pipeline or a task "
            f"(make one with @single_task / @batch_task and compose with |)"
        )
    loaded.pipeline = value
    return loaded


def _split_target(target: str) -> tuple[str, str | None]:
    module_part, sep, attr = target.rpartition(":")
    if not sep or "/" in attr or "\\" in attr:  # no attribute (a colon in a Windows path is not one)
        return target, None
    if not module_part or not attr:
        raise UsageError(f"bad target {target!r}: expected module:attribute, e.g. app.flows:ingest")
    return module_part, attr


def _import(module_part: str) -> ModuleType:
    if module_part.endswith(".py") or os.sep in module_part or "/" in module_part:
        return _import_file(Path(module_part))
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)  # like `python -m`: modules of the current directory
    try:
        with _reported_import(module_part, module_part):
            cached = sys.modules.get(module_part)
            # Run its code afresh even when imported before (main() called twice in one process),
            # so the mode of this command applies and the warnings are seen.
            return importlib.reload(cached) if cached is not None else importlib.import_module(module_part)
    except ValueError as exc:  # importlib rejects names such as "" or ".x"
        raise UsageError(f"bad module name {module_part!r}: {exc}") from None


def _import_file(path: Path) -> ModuleType:
    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    name = path.stem
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UsageError(f"cannot import {path}: not a Python module")
    module = importlib.util.module_from_spec(spec)
    folder = str(path.resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)  # its sibling modules import as in `python path/to/file.py`
    previous = sys.modules.get(name)
    sys.modules[name] = module  # dataclasses and pickling look the module up by name
    try:
        with _reported_import(str(path)):
            spec.loader.exec_module(module)
    except BaseException:
        if previous is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = previous
        raise
    return module


@contextmanager
def _reported_import(what: str, module_name: str | None = None) -> Iterator[None]:
    """Turn a failed import into a clear usage error (a type mismatch passes through)."""
    try:
        yield
    except (PipelineTypeError, UsageError):
        raise
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if module_name is not None and (module_name == missing or module_name.startswith(missing + ".")):
            raise UsageError(
                f"no module named {module_name!r} (searched the current directory {os.getcwd()} and sys.path); "
                f"give a dotted module name such as app.flows, or a path such as app/flows.py"
            ) from None
        raise UsageError(_import_failure(what, exc)) from exc
    except Exception as exc:
        raise UsageError(_import_failure(what, exc)) from exc


def _import_failure(what: str, exc: BaseException) -> str:
    """The error with the user's own frames only (not conveyor's or importlib's)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not _is_internal(f.filename)]
    trace = "".join(traceback.format_list(frames)) + "".join(traceback.format_exception_only(exc))
    return f"importing {what} failed:\n{trace.rstrip()}"


def _is_internal(filename: str) -> bool:
    return filename.startswith("<") or str(Path(filename).resolve()).startswith(_PACKAGE_DIR)


def _attribute(module: ModuleType, module_part: str, attr: str | None) -> Any:
    if attr is None:
        found = _pipelines_in(module)
        if len(found) == 1:
            return getattr(module, found[0])
        listing = f"; it has: {', '.join(found)}" if found else "; it defines no pipeline"
        raise UsageError(f"which pipeline of {module_part}? name it as {module_part}:NAME{listing}")
    value: Any = module
    for part in attr.split("."):
        try:
            value = getattr(value, part)
        except AttributeError:
            candidates = _pipelines_in(module) + _tasks_in(module)
            hint = f"; pipelines and tasks there: {', '.join(candidates)}" if candidates else ""
            raise UsageError(f"{module_part} has no attribute {attr!r}{hint}") from None
    return value


def _pipelines_in(module: ModuleType) -> list[str]:
    return sorted(name for name, value in vars(module).items() if isinstance(value, Pipeline) and not name.startswith("_"))


def _tasks_in(module: ModuleType) -> list[str]:
    return sorted(name for name, value in vars(module).items() if isinstance(value, Task) and not name.startswith("_"))


def _user_frame(tb: TracebackType | None) -> tuple[str, int] | None:
    """The innermost frame outside conveyor and importlib: the line with the bad ``|``."""
    found = None
    for frame, line in traceback.walk_tb(tb):
        if not _is_internal(frame.f_code.co_filename):
            found = (frame.f_code.co_filename, line)
    return found


def _relative(path: str) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return path


def _a(noun: str) -> str:
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


# -- the parser ----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="conveyor",
        description="Check, draw and outline conveyor pipelines defined in Python modules.",
        epilog="TARGET is module:attribute (e.g. app.flows:ingest) or path/to/file.py:attribute. "
        "Exit status: 0 ok, 1 type mismatch (check), 2 usage error.",
    )
    from conveyor import __version__

    parser.add_argument("--version", action="version", version=f"conveyor {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser("check", help="exit 1 and show the type error when the stages do not fit")
    check.add_argument("target", metavar="TARGET")
    check.add_argument(
        "--lax", action="store_true",
        help="compose in lax mode while importing, to report every mismatch instead of the first",
    )
    check.set_defaults(run=_check)

    render = commands.add_parser("render", help="draw the pipeline (svg, png, pdf or dot); mismatches in red")
    render.add_argument("target", metavar="TARGET")
    render.add_argument("-o", "--output", required=True, help="the file to write; its suffix gives the format")
    render.add_argument("--format", choices=("svg", "png", "pdf", "dot"), help="override the format the suffix gives")
    render.set_defaults(run=_render)

    outline = commands.add_parser("outline", help="print a plain-text outline: stages, options, types")
    outline.add_argument("target", metavar="TARGET")
    outline.set_defaults(run=_outline)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (the console script exits with it)."""
    args = build_parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except UsageError as exc:
        print(f"conveyor {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
