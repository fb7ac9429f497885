"""A custom ErrorHandler decides, per error, whether the run goes on.

This handler skips items that fail validation (ValueError), substitutes a
placeholder for lookups that fail (KeyError), and lets anything else go on to the
task's `on_error` policy, which by default stops the run.
"""

from __future__ import annotations

import asyncio
from typing import Any

from conveyor import ErrorHandler, single_task

NICKNAMES = {"robert": "bob", "william": "bill"}


class CustomErrorHandler(ErrorHandler):
    def __init__(self) -> None:
        self.handled: list[str] = []

    async def handle_error(self, error: Exception, item: Any, task_name: str, attempt: int) -> tuple[bool, Any]:
        if isinstance(error, ValueError):
            self.handled.append(f"{task_name}: skipped {item!r} ({error})")
            return True, None  # go on; None drops the item
        if isinstance(error, KeyError):
            self.handled.append(f"{task_name}: no nickname for {item!r}")
            return True, "<none>"  # go on with this value instead
        return False, None  # not ours: the task's on_error policy ("fail") applies


handler = CustomErrorHandler()


@single_task(error_handler=handler)
async def validated_task(item: str) -> str:
    name = item.strip().lower()
    if not name:
        raise ValueError("empty item")
    if name == "drop table":
        raise RuntimeError("refusing suspicious input")
    return NICKNAMES[name].upper()


async def main() -> tuple[list[str], list[str], str]:
    handler.handled.clear()
    nicknames = await validated_task(["Robert", "   ", "Ada", "william"]).collect()
    try:
        await validated_task(["Robert", "DROP TABLE"]).collect()
        stopped = "not stopped"
    except RuntimeError as exc:
        stopped = f"{type(exc).__name__}: {exc}"
    return nicknames, list(handler.handled), stopped


if __name__ == "__main__":
    nicknames, handled, stopped = asyncio.run(main())
    print("results:", nicknames)
    print("handled by the handler:")
    for line in handled:
        print("  ", line)
    print("second run stopped with:", stopped)
