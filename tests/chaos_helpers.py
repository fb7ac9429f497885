"""Hygiene checks for the chaos suite (tests/test_chaos.py).

Every chaos example runs in a fresh event loop under :func:`run_clean`, which records
what must never happen and fails the example if any of it did:

- the loop's exception handler being called ("Task exception was never retrieved",
  "Task was destroyed but it is pending", an exception in a callback, ...);
- an unraisable exception (``sys.unraisablehook``: an error in ``__del__``, in a
  generator's finalizer, ...);
- a warning, in particular a "coroutine ... was never awaited" RuntimeWarning.

:class:`Finallies` records which user ``finally`` blocks were entered and have not
run yet; :func:`pending_tasks` lists the asyncio tasks other than the test's own.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import sys
import warnings
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Finallies", "Hygiene", "frozen_heap", "pending_tasks", "run_clean"]


@dataclass
class Finallies:
    """The user ``finally`` blocks that were entered and have not run yet."""

    open: dict[int, str] = field(default_factory=dict)
    ran: int = 0
    _next: int = 0

    def enter(self, label: str) -> int:
        self._next += 1
        self.open[self._next] = label
        return self._next

    def exit(self, token: int) -> None:
        del self.open[token]
        self.ran += 1

    def assert_all_ran(self, when: str) -> None:
        assert not self.open, f"user finally blocks not run yet {when}: {sorted(self.open.values())}"


@dataclass
class Hygiene:
    """What went wrong outside the test's own control flow during one example."""

    loop_errors: list[dict[str, Any]] = field(default_factory=list)
    unraisable: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        found = [f"loop exception handler: {c.get('message')!r} {c.get('exception')!r} {c.get('task', '')}" for c in self.loop_errors]
        found += [f"unraisable: {u}" for u in self.unraisable]
        found += [f"warning: {w}" for w in self.warnings]
        return found

    def assert_clean(self) -> None:
        problems = self.problems()
        assert not problems, "\n".join(problems)


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Keep the objects alive now out of every garbage collection until the end: a full
    ``gc.collect()`` after each example then costs microseconds, not tens of ms."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def pending_tasks(*exclude: asyncio.Task[Any] | None) -> set[asyncio.Task[Any]]:
    """The loop's unfinished tasks, except the current one and ``exclude``."""
    skip = {asyncio.current_task(), *exclude}
    return {t for t in asyncio.all_tasks() if not t.done() and t not in skip}


def run_clean(main: Callable[[], Coroutine[Any, Any, Any]], *, hygiene: Hygiene | None = None) -> Any:
    """``asyncio.run(main())`` in a fresh loop, recording loop errors, unraisable
    exceptions and warnings; fails if any was recorded. Returns main's result, or
    raises what ``asyncio.run`` raised (after the hygiene check)."""
    hygiene = hygiene if hygiene is not None else Hygiene()

    def on_loop_error(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        hygiene.loop_errors.append(context)

    def on_unraisable(info: Any) -> None:
        hygiene.unraisable.append(f"{info.exc_type.__name__}: {info.exc_value!r} in {info.object!r} ({info.err_msg})")

    async def wrapped() -> Any:
        asyncio.get_running_loop().set_exception_handler(on_loop_error)
        return await main()

    old_hook = sys.unraisablehook
    sys.unraisablehook = on_unraisable
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                outcome: tuple[bool, Any] = (True, asyncio.run(wrapped()))
            except BaseException as exc:  # noqa: BLE001  # re-raised below, after the checks
                outcome = (False, exc)
            gc.collect()  # tasks and coroutines dropped by the run report themselves now
            gc.freeze()  # what is left is alive: later collections need not scan it again
            hygiene.warnings.extend(f"{w.category.__name__}: {w.message}" for w in caught)
    finally:
        sys.unraisablehook = old_hook
    hygiene.assert_clean()
    ok, value = outcome
    if not ok:
        raise value
    return value
