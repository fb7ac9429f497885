"""What runs in a worker process for the "process" session (runtime/processes.py):
a batch of calls, each with its own outcome, and the session's table of what every
call shares (the function, the side inputs), unpickled once per worker.

Each call's outcome goes back pickled on its own: its result, or its exception with
the worker's traceback as ``__cause__`` (as concurrent.futures does), or, for an
exception that does not pickle or cannot be rebuilt, the pickling error in its place
with a note naming the original. Pickling goes through multiprocessing's pickler, so
the reducers registered with it apply; builtin scalars take the C pickler's quicker
way, and conveyor's rule for tasks (runtime/pickling.py) is the last resort.
"""

from __future__ import annotations

import pickle
import traceback
from multiprocessing.reduction import ForkingPickler
from time import perf_counter
from typing import Any

from conveyor.runtime.pickling import dumps

__all__ = ["Outcome", "Shared", "WorkerTraceback", "all_plain", "quick_dumps", "run_batch"]

#: One call's outcome as the worker sends it back: (succeeded, pickled result or exception).
Outcome = tuple[bool, bytes]


#: Values no reducer registered with multiprocessing's pickler can concern.
_PLAIN = frozenset({int, float, str, bytes, bool, type(None), complex})


def all_plain(values: Any) -> bool:
    return all(type(value) in _PLAIN or type(value) is Shared for value in values)


def quick_dumps(value: Any, *, plain: bool) -> bytes:
    """Pickle as the pool would: multiprocessing's pickler, so the reducers registered
    with it apply (torch's for tensors, say). Plain data (``plain``: builtin scalars, our
    own handles) takes the C pickler's quicker way, which gives the same bytes' meaning.
    What both refuse (a decorated function, say) goes through conveyor's rule for tasks
    too (runtime/pickling.py), which costs a Python call per object: the last resort."""
    try:
        if plain:
            return pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
        return bytes(ForkingPickler.dumps(value, pickle.HIGHEST_PROTOCOL))
    except Exception:
        return dumps(value)


class Shared:
    """A call's reference to the function or a side input of its session's table;
    unpickled in the worker as the value itself."""

    __slots__ = ("token", "index")

    def __init__(self, token: str, index: int) -> None:
        self.token = token
        self.index = index

    def __reduce__(self) -> tuple[Any, ...]:
        return _shared_value, (self.token, self.index)


#: In a worker process: the tables of the sessions whose batches it runs (token -> values).
#: A pool conveyor made keeps its run's table until it shuts down at the end of the run;
#: a pool passed in outlives the run, so there a table lives only while a batch runs
#: (a large side input must not stay in the user's workers after the run).
_TABLES: dict[str, list[Any]] = {}


def run_batch(
    token: str, table: bytes, payloads: list[bytes], budget: float, keep: bool,
) -> tuple[list[Outcome], float]:
    """Run a batch's calls one after the other, until they have taken ``budget`` seconds:
    the outcomes of those run (at least one; the rest were not started) and their time."""
    start = perf_counter()
    if token not in _TABLES:
        try:
            _TABLES[token] = pickle.loads(table)
        except BaseException as exc:  # every call of the batch fails with it
            failure = _pickled_failure(exc)
            return [(False, failure) for _ in payloads], perf_counter() - start
    outcomes: list[Outcome] = []
    try:
        for payload in payloads:
            outcomes.append(_run_one(payload))
            if perf_counter() - start >= budget:
                break
    finally:
        if not keep:
            del _TABLES[token]
    return outcomes, perf_counter() - start


def _shared_value(token: str, index: int) -> Any:
    return _TABLES[token][index]


def _run_one(payload: bytes) -> Outcome:
    try:
        fn, args, kwargs = pickle.loads(payload)
        result = fn(*args, **kwargs)
    except BaseException as exc:  # the call's own failure, whatever it is, goes back to it
        return False, _pickled_failure(exc)
    try:
        return True, quick_dumps(result, plain=type(result) in _PLAIN)
    except Exception as exc:
        exc.add_note(
            "conveyor: the call's result does not pickle, so it cannot come back from the worker "
            "process; return plain data (or use executor='thread')"
        )
        return False, _pickled_failure(exc)


def _pickled_failure(exc: BaseException) -> bytes:
    text = "".join(traceback.format_exception(exc))
    try:
        data = dumps(_Raised(exc, text))
        pickle.loads(data)  # some exceptions pickle but cannot be rebuilt (a custom __init__)
        return data
    except Exception as unpicklable:
        return dumps(_Raised(_stand_in(unpicklable, exc, text), text))


def _stand_in(error: Exception, original: BaseException, text: str) -> Exception:
    """The pickling error, made afresh: the one caught is chained to the original (and
    some picklers, such as tblib's, pickle the chain, which does not pickle)."""
    try:
        stand_in: Exception = type(error)(*error.args)  # not one_per_call: no chain to the original
    except Exception:
        stand_in = TypeError(str(error))
    stand_in.add_note(
        f"conveyor: the call raised {type(original).__name__}: {original}, which does not pickle (or "
        f"cannot be rebuilt from its pickle), so this error comes back from the worker process in "
        f"its place; the worker's traceback:\n{text}"
    )
    return stand_in


class _Raised:
    """An exception on its way back from a worker: rebuilt with the worker's traceback as
    its cause, so the parent's traceback shows where in the worker it was raised."""

    def __init__(self, exc: BaseException, text: str) -> None:
        self.exc = exc
        self.text = text

    def __reduce__(self) -> tuple[Any, ...]:
        return _rebuilt, (self.exc, self.text)


class WorkerTraceback(Exception):
    """The traceback of an exception as the worker process saw it."""

    def __str__(self) -> str:
        return f'\n"""\n{self.args[0]}"""' if self.args else ""


def _rebuilt(exc: BaseException, text: str) -> BaseException:
    exc.__cause__ = WorkerTraceback(text)
    return exc
