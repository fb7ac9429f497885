"""Instructions per item, counted by valgrind's callgrind: an A/B that a busy or
throttled machine cannot move.

    .venv/bin/python benchmarks/instructions.py w7-two-pipelines w7-fan w7-fork
    .venv/bin/python benchmarks/instructions.py w2-gather w2-conveyor --against /path/to/checkout

Wall and CPU times on a shared 2-core machine swing by a factor of 1.5 between runs,
which hides a change of a few percent. Here each case runs twice under callgrind, at
a small and a larger number of items, and the difference of the two instruction
counts over the difference of the sizes is the cost of one item: start-up, imports
and the run's set-up cancel out. Counts are of the machine's instructions, not time:
a change that adds memory traffic (or saves it) shows less here than on the clock,
so confirm a gain with ``fresh.py`` too. Needs ``valgrind`` (Debian: apt-get install
valgrind); a case takes about a minute (valgrind runs Python some 50x slower).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.fresh import _stages  # noqa: E402  # the same three stages as the timed cases

SMALL, LARGE = 5_000, 20_000  # items of the two runs of a case


async def _w7_two_pipelines(n: int) -> None:
    await _stages("a")(range(n)).collect()
    await _stages("b")(range(n)).collect()


async def _w7_fan(n: int) -> None:
    from conveyor import fan

    await fan(_stages("a"), _stages("b"))(range(n)).collect()


async def _w7_fork(n: int) -> None:
    from conveyor import fork

    await fork(_stages("a"), _stages("b"))(range(n)).collect()


async def _w2_conveyor(n: int) -> None:
    await _stages("s", delay=0.01)(range(n)).collect()


async def _w2_gather(n: int) -> None:
    async def step(x: int) -> int:
        await asyncio.sleep(0.01)
        return x + 1

    async def chain(x: int) -> int:
        return await step(await step(await step(x)))

    await asyncio.gather(*(chain(x) for x in range(n)))


CASES: dict[str, Callable[[int], Any]] = {
    "w7-two-pipelines": _w7_two_pipelines,
    "w7-fan": _w7_fan,
    "w7-fork": _w7_fork,
    "w2-conveyor": _w2_conveyor,
    "w2-gather": _w2_gather,
}


def _count(case: str, items: int, checkout: Path) -> int:
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
         sys.executable, str(Path(__file__).resolve()), "--one", case, str(items), str(checkout)],
        capture_output=True, text=True, check=True, cwd=ROOT,
        env={**os.environ, "PYTHONHASHSEED": "0"},  # the same dict layouts in every run
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise RuntimeError(f"callgrind printed no count for {case}:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def per_item(case: str, checkout: Path) -> float:
    return (_count(case, LARGE, checkout) - _count(case, SMALL, checkout)) / (LARGE - SMALL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("cases", nargs="*")
    parser.add_argument("--against", help="another checkout: count each case with its conveyor too")
    parser.add_argument("--one", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        case, items, checkout = args.one
        sys.path.insert(0, checkout)  # ahead of ROOT: conveyor is imported from the checkout
        asyncio.run(CASES[case](int(items)))
        return 0
    if not args.cases:
        print("\n".join(CASES))
        return 0
    if shutil.which("valgrind") is None:
        parser.error("valgrind is not installed (Debian: apt-get install valgrind)")
    unknown = [c for c in args.cases if c not in CASES]
    if unknown:
        parser.error(f"unknown case(s): {', '.join(unknown)}")
    checkouts = [("", ROOT)] + ([("@other", Path(args.against).resolve())] if args.against else [])
    first: float | None = None
    for case in args.cases:
        for suffix, checkout in checkouts:
            value = per_item(case, checkout)
            first = value if first is None else first
            print(f"{case + suffix:24} {value:>10,.0f} instructions per item  ratio to {args.cases[0]} {value / first:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
