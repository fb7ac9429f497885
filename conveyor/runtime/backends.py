"""The built-in backends behind ``executor=``: "thread", "process", and a user's
``concurrent.futures.Executor``; each opens its session (runtime/pools.py,
runtime/processes.py) for one task in one run.

- "thread": conveyor's own thread pool, ``concurrency_limit`` workers (default
  ``min(32, cpu_count + 4)``, as concurrent.futures).
- "process": a ``ProcessPoolExecutor`` made for the run, ``concurrency_limit``
  workers (default ``os.cpu_count()``), multiprocessing's default start method; the
  function must pickle, checked here, before any item (side inputs are checked as
  they are shared).
- a user's ``Executor``: never shut down by conveyor. A ``ProcessPoolExecutor`` gets
  the process session (pickling checks, batches); a broken one stays broken.
"""

from __future__ import annotations

import asyncio
import os
import sys
from concurrent.futures import Executor, ThreadPoolExecutor

from conveyor.executors import Backend, Session, SessionSpec
from conveyor.runtime.pools import DEFAULT_THREADS, PoolSession, ThreadSession, pool_size
from conveyor.runtime.threads import ThreadPool

__all__ = ["ThreadBackend", "ProcessBackend", "UserExecutorBackend"]


class ThreadBackend(Backend):
    label = "thread"

    async def open(self, spec: SessionSpec) -> Session:
        loop = asyncio.get_running_loop()
        return ThreadSession(spec, ThreadPool(pool_size(spec, DEFAULT_THREADS), loop, f"conveyor-{spec.task_name}"))


class ProcessBackend(Backend):
    label = "process"

    async def open(self, spec: SessionSpec) -> Session:
        # multiprocessing is imported only by runs that use it
        from concurrent.futures import ProcessPoolExecutor

        from conveyor.runtime.pickling import check_pickles
        from conveyor.runtime.processes import ProcessSession

        check_pickles(spec.fn, spec.task_name, "its function")
        pool = ProcessPoolExecutor(max_workers=pool_size(spec, os.cpu_count() or 1))
        return ProcessSession(spec, pool, owned=True)


class UserExecutorBackend(Backend):
    """An executor the user made and owns (never shut down here)."""

    def __init__(self, executor: Executor) -> None:
        self.executor = executor
        self.label = type(executor).__name__

    async def open(self, spec: SessionSpec) -> Session:
        if _is_process_pool(self.executor):
            from conveyor.runtime.pickling import check_pickles
            from conveyor.runtime.processes import ProcessSession

            check_pickles(spec.fn, spec.task_name, "its function")
            return ProcessSession(spec, self.executor, owned=False)
        # Threads share the caller's memory: give them its context, as to_thread does.
        return PoolSession(spec, self.executor, owned=False, copy_context=isinstance(self.executor, ThreadPoolExecutor))


def _is_process_pool(executor: Executor) -> bool:
    # Without concurrent.futures.process imported, no ProcessPoolExecutor exists yet.
    module = sys.modules.get("concurrent.futures.process")
    return module is not None and isinstance(executor, module.ProcessPoolExecutor)
