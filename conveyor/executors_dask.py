"""``DaskExecutor``: run a task's calls on a Dask cluster (``pip install conveyor[dask]``).

``@single_task(executor=DaskExecutor("tcp://scheduler:8786"), concurrency_limit=64)``.
Each call is submitted from the run's event loop (``client.submit``) and its future
awaited there; conveyor's own bounds (``concurrency_limit``, ``max_in_flight``)
limit how many calls are on the cluster at once, Dask does not. ``distributed`` is
imported when a run opens its first session, never with conveyor.

- Every submit has a fresh key (the task's name and a random suffix), so a retry
  runs again and Dask never hands back a cached result or failure.
- The function and each side input go to the cluster once per run
  (as a task returning them, which the scheduler can run again if the workers
  holding them die); calls refer to them by key and each worker fetches them once.
- A ``per_worker`` side input is made on each Dask worker on its first call there
  and closed on every worker when the run ends.
- When the run stops (closed, failed, cancelled), the calls still on the cluster
  are cancelled (``client.cancel``): queued ones never start; a running one cannot
  be interrupted by Dask and finishes on its worker, its result dropped.
- A worker that dies while running a call: Dask reruns the call on another worker
  up to ``distributed.scheduler.allowed-failures`` times (default 3), then the call
  fails with ``distributed.KilledWorker`` and the task's policy (``retry_attempts``,
  ``on_error``) applies.

Given an address, the executor makes its own asynchronous ``Client`` for each run's
session and closes it at the end of the run. Given a ``Client``, the user owns it:
it is used as it is when it is asynchronous and lives on the run's event loop;
otherwise (a plain ``Client(cluster)``) the session connects its own asynchronous
client to the same scheduler and closes only that one.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from conveyor.executors import Backend, Session, SessionSpec, one_per_call

log = logging.getLogger("conveyor")

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["DaskExecutor"]


class DaskExecutor(Backend):
    """Calls of a task on a Dask cluster: ``DaskExecutor(client_or_address)``.

    ``client_or_address`` is a ``distributed.Client`` (yours: never closed here) or a
    scheduler address such as ``"tcp://10.0.0.5:8786"`` (or ``cluster.scheduler_address``).
    One executor may serve many tasks and runs.
    """

    def __init__(self, client_or_address: Client | str, /) -> None:
        if isinstance(client_or_address, str):
            if not client_or_address:
                raise ValueError("DaskExecutor: the scheduler address is empty")
            self.address: str | None = client_or_address
            self.client: Any = None  # distributed is only partly typed: Any inside this module
        elif _is_client(client_or_address):
            self.address = None
            self.client = client_or_address
        else:
            raise TypeError(
                f"DaskExecutor takes a distributed.Client or a scheduler address (str), got "
                f"{type(client_or_address).__name__}; for a cluster object pass cluster.scheduler_address"
            )
        self.label = "dask"

    async def open(self, spec: SessionSpec) -> Session:
        import distributed

        owned: Any = None
        client = self.client
        if client is None or not _on_this_loop(client):
            # An address, or a synchronous client (its own loop in another thread): our own
            # asynchronous client on the run's loop, to the same scheduler.
            address = self.address if client is None else client.scheduler.address
            new_client: Any = distributed.Client
            owned = await new_client(address, asynchronous=True, set_as_default=False)
            client = owned
        session = DaskSession(spec, client, owned=owned)
        try:
            session.fn = await session.share_function(spec.fn)
        except BaseException:
            await session.aclose()
            raise
        return session

    def __repr__(self) -> str:
        where = self.address if self.address is not None else repr(self.client)
        return f"DaskExecutor({where})"


class DaskSession(Session):
    """One task's calls on the cluster during one run."""

    def __init__(self, spec: SessionSpec, client: Any, *, owned: Any) -> None:
        self.spec = spec
        self.client = client
        self.owned = owned  # the client made for this session (closed at the end), or None
        self.fn: Any = spec.fn  # the function as calls send it: the future of its value on the cluster
        self.scattered: list[Any] = []  # the futures of the side inputs and the function, released at the end
        self.outstanding: set[Any] = set()  # submitted, not yet awaited to the end
        self.tokens: list[str] = []  # per-worker side inputs to close on every worker
        self.submitted = 0  # calls sent to the cluster (each with a fresh key)
        self.to_submit: list[tuple[Any, tuple[Any, ...], dict[str, Any], asyncio.Future[Any]]] = []
        self.to_gather: list[tuple[Any, asyncio.Future[Any]]] = []
        self.to_cancel: list[Any] = []
        self.gathering: set[asyncio.Task[None]] = set()  # gathers under way
        self.closed = False

    async def share_function(self, fn: Callable[..., Any]) -> Any:
        _check_pickles(fn, self.spec.task_name, "its function")
        return self._put(fn, "function")

    async def share(self, param: str, value: Any) -> Any:
        """Send a side input (or a per-worker handle) to every worker, once per run."""
        from conveyor.runtime.per_worker import PerWorker

        if isinstance(value, PerWorker):
            self.tokens.append(value.token)
        _check_pickles(value, self.spec.task_name, f"side input {param!r}")
        return self._put(value, param)

    def _put(self, value: Any, what: str) -> Any:
        # A task that returns the value, rather than scatter(): the scheduler keeps the task,
        # so if every worker holding the value dies it is made again, where scattered data
        # would be lost for good (and every later call cancelled for a lost dependency).
        # Boxed, so that Dask does not look inside the value for tasks or futures; a fresh
        # key, so two runs never share (or release) each other's data.
        key = f"conveyor-input-{self.spec.task_name}-{what}-{uuid.uuid4().hex}"
        future = self.client.submit(_unbox, _Box(value), key=key, pure=False)
        self.scattered.append(future)
        return future

    # -- calls: submitted together, awaited one by one, gathered together -----------------------
    #
    # ``client.submit`` per call sends one graph per call, and ``await future`` fetches each
    # result in a round trip of its own: on a busy cluster (or one process) that overhead,
    # not the work, bounds throughput. The calls started in one turn of the event loop
    # (the pump starts several at once) go in one ``client.map``, and the results that
    # finish together come back in one ``gather``. Each call still has its own future,
    # key and outcome, so failures, retries and cancellation stay per call.

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Awaitable[Any]:
        if args and args[0] is self.spec.fn:
            args = (self.fn, *args[1:])  # run_call(fn, ...): the function by its key on the cluster
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Any] = loop.create_future()
        if not self.to_submit:
            loop.call_soon(self._submit_waiting)
        self.to_submit.append((fn, args, kwargs, waiter))
        return self._result(waiter)

    def _submit_waiting(self) -> None:
        batch = [entry for entry in self.to_submit if not entry[3].done()]  # a cancelled call is not sent
        self.to_submit = []
        if not batch or self.closed:
            for *_, waiter in batch:
                waiter.cancel()
            return
        name = self.spec.task_name
        # A fresh key per call (and so per retry): Dask never answers from a cached result.
        keys = [f"{name}-{uuid.uuid4().hex}" for _ in batch]
        try:
            # The call travels packed, so a side input named like a submit option ("key",
            # "priority", "retries"...) stays the function's own keyword.
            futures = self.client.map(
                _call, [e[0] for e in batch], [e[1] for e in batch], [e[2] for e in batch], key=keys, pure=False,
            )
        except Exception as exc:  # e.g. the client lost its scheduler: each call fails alone
            for *_, waiter in batch:
                waiter.set_exception(one_per_call(exc))
            return
        self.submitted += len(futures)
        self.outstanding.update(futures)
        for (*_, waiter), future in zip(batch, futures):
            waiter.set_result(future)

    async def _result(self, waiter: asyncio.Future[Any]) -> Any:
        future = await waiter
        try:
            state = getattr(future, "_state", None)
            if state is not None:
                await state.wait()  # finished, failed or cancelled
                if future.status == "finished":
                    return await self._gathered(future)
            return await future  # a failure: raised as Dask raises it (type, traceback)
        except asyncio.CancelledError:
            if not future.done():
                self._cancel_soon(future)  # a timeout, or the run stopping: not on the cluster either
            raise
        except BaseException as exc:
            _explain(exc, self.spec.task_name)
            self.outstanding.discard(future)
            raise
        finally:
            if future.done():
                self.outstanding.discard(future)

    def _cancel_soon(self, future: Any) -> None:
        if self.closed:
            return  # aclose() cancels whatever is still outstanding
        if not self.to_cancel:
            task = asyncio.get_running_loop().create_task(self._cancel_waiting())
            self.gathering.add(task)
            task.add_done_callback(self.gathering.discard)
        self.to_cancel.append(future)

    async def _cancel_waiting(self) -> None:
        batch, self.to_cancel = self.to_cancel, []
        try:
            await self.client.cancel(batch, force=True, reason="conveyor cancelled the call")
        except Exception as exc:  # the client is closing: the futures go with it
            log.debug("cancelling %d Dask futures raised %r", len(batch), exc)
        self.outstanding.difference_update(batch)

    def _gathered(self, future: Any) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Any] = loop.create_future()
        if not self.to_gather:
            gathering = loop.create_task(self._gather_waiting())
            self.gathering.add(gathering)
            gathering.add_done_callback(self.gathering.discard)
        self.to_gather.append((future, waiter))
        return waiter

    async def _gather_waiting(self) -> None:
        # Runs after the calls woken in the same turn have joined the batch.
        batch, self.to_gather = self.to_gather, []
        try:
            results = await self.client.gather([future for future, _ in batch], errors="raise")
        except asyncio.CancelledError:
            for _, waiter in batch:
                waiter.cancel()
            raise
        except BaseException:
            # One of them is gone (say, its worker died since): each call fetches its own.
            for future, waiter in batch:
                self._fetch_alone(future, waiter)
            return
        for (_, waiter), result in zip(batch, results):
            if not waiter.done():
                waiter.set_result(result)

    def _fetch_alone(self, future: Any, waiter: asyncio.Future[Any]) -> None:
        async def fetch() -> None:
            try:
                result = await future
            except BaseException as exc:
                if not waiter.done():
                    waiter.set_exception(exc)
                if isinstance(exc, asyncio.CancelledError):
                    raise
                return
            if not waiter.done():
                waiter.set_result(result)

        task = asyncio.get_running_loop().create_task(fetch())
        self.gathering.add(task)
        task.add_done_callback(self.gathering.discard)

    async def aclose(self) -> None:
        """Cancel what is still on the cluster, close per-worker values, release the
        side inputs, close the client made for this session."""
        if self.closed:
            return
        self.closed = True
        client = self.client
        for task in list(self.gathering):
            task.cancel()
        if self.gathering:
            await asyncio.wait(list(self.gathering))
        try:
            if self.outstanding and client.status == "running":
                await client.cancel(list(self.outstanding), force=True, reason="the conveyor run stopped")
            if self.tokens and client.status == "running":
                for token in self.tokens:
                    await client.run(_close_on_worker, token, on_error="ignore")
        finally:
            self.outstanding.clear()
            for future in self.scattered:
                future.release()
            self.scattered.clear()
            if self.owned is not None:
                await self.owned.close()

    def __repr__(self) -> str:
        return f"<DaskSession of task {self.spec.task_name!r}>"


def _explain(exc: BaseException, task_name: str) -> None:
    from distributed import KilledWorker

    if isinstance(exc, KilledWorker):
        exc.add_note(
            f"conveyor: the Dask workers running this call of task {task_name!r} died "
            f"(Dask tried it on as many workers as distributed.scheduler.allowed-failures allows); "
            f"the task's on_error / retry_attempts decide what happens next"
        )


class _Box:
    """A side input (or the function) on its way to the cluster, opaque to Dask."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __reduce__(self) -> tuple[Any, ...]:
        return _Box, (self.value,)


def _unbox(box: _Box) -> Any:
    return box.value


def _call(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """On the worker: one call, unpacked (Dask has replaced the scattered keys by their data)."""
    return fn(*args, **kwargs)


async def _close_on_worker(token: str, dask_worker: Any = None) -> int:
    """On every worker at the end of a run: close that worker's per-worker values."""
    from conveyor.runtime.per_worker import close_made

    return await close_made(token, worker=dask_worker)


def _is_client(value: object) -> bool:
    if "distributed" not in sys.modules:  # no Client can exist yet: do not import it to say so
        return False
    from distributed import Client

    return isinstance(value, Client)


def _on_this_loop(client: Any) -> bool:
    try:
        return bool(client.asynchronous) and client.loop.asyncio_loop is asyncio.get_running_loop()
    except Exception:
        return False


def _check_pickles(value: Any, task_name: str, what: str) -> None:
    """Dask sends functions and data with cloudpickle: check before any item, naming the task
    and the part (an in-process cluster would not pickle, and a real one fails later)."""
    import cloudpickle  # comes with distributed (untyped: see mypy.ini)

    try:
        cloudpickle.dumps(value)
    except Exception as exc:
        exc.add_note(
            f"conveyor: task {task_name!r} runs on a Dask cluster (DaskExecutor), so {what} must "
            f"pickle (with cloudpickle), and it does not (checked when the run started, before any item); "
            f"make unpicklable things (clients, connections, locks) per worker: per_worker(factory)"
        )
        raise
