"""The ``timeout=`` option of a task: which calls a time limit can bound.

A limit is enforced by cancelling the call, and cancellation reaches only code that
awaits: a coroutine, an async generator, an awaitable. A plain sync function (or a
sync generator) runs inline in the event loop thread and nothing can interrupt it
there, so a timeout on one is refused at decoration rather than promised and not
kept, unless it runs in an executor: then the call is an awaited future, the run
stops waiting for it at the limit, and the executor stops what it can (a queued
call; a running thread or process call runs on to its end, its result dropped). A source generator is the stream itself (possibly endless) and is read
lazily, so a bound on "the whole call" would be a bound on the whole stream: it is
refused too (bound its waits with ``asyncio.timeout`` inside it).

The runtime side (arming the limit only once a call suspends, turning the
cancellation into a ``TimeoutError`` with notes) is ``conveyor/runtime/deadlines.py``.
"""

from __future__ import annotations

from conveyor.invoke import CallShape
from conveyor.options import check_seconds

__all__ = ["check_timeout"]


def check_timeout(owner: str, value: object, shape: CallShape, is_source: bool, *, offloaded: bool = False) -> float | None:
    """The validated ``timeout`` (seconds > 0, or None), for a task whose calls can be
    cancelled; ``offloaded``: its calls run in an executor (awaited on the loop)."""
    timeout = check_seconds(owner, "timeout", value, positive=True, optional=True)
    if timeout is None:
        return None
    if is_source and shape.fans_out:
        raise TypeError(
            f"{owner}: timeout= does not apply to a source generator: it is the stream itself and "
            f"is read as the pipeline runs, so a limit on the whole call would limit the whole "
            f"stream. Bound its slow waits inside it with asyncio.timeout()"
        )
    if not offloaded and (shape is CallShape.VALUE or shape is CallShape.ITERATOR):
        raise TypeError(
            f"{owner}: timeout= needs an async function (async def, or an async generator): a sync "
            f"function runs inline in the event loop, where nothing can interrupt it, so the limit "
            f"could not be kept. Make it async (and await its slow part), run it in an executor "
            f"(executor='thread': the run then stops waiting for it), or bound the slow call "
            f"inside it (e.g. the client library's own timeout)"
        )
    return timeout
