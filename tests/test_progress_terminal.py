"""Progress in a real terminal: a child process on a pseudo-terminal (Python's ``pty``),
its output interpreted by pyte (a VT100 emulator) into the screen a person would see.

What a person must see at the end: every line printed, logged or warned during the
run, then one final frame (no stale headings), with all its figures, at 60 columns.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import textwrap
import time
from pathlib import Path

import pyte
import pytest

COLUMNS, ROWS = 60, 120  # tall enough that nothing scrolls away

PROGRAM = textwrap.dedent(
    """
    import asyncio, logging, sys, warnings
    from conveyor import batch_task, single_task
    from conveyor.progress import show

    logging.basicConfig(level=logging.INFO, format="LOG %(message)s")  # a handler made before the run

    @single_task(concurrency_limit=4, on_error="skip_item")
    async def parse(x: int) -> int:
        await asyncio.sleep(0.01)
        if x == 7:
            raise ValueError("seven")            # conveyor logs the skip on stderr
        if x % 20 == 0:
            print(f"PRINT {x}")
        if x % 30 == 0:
            logging.getLogger("app").info("logged %d", x)
        if x == 50:
            print(f"STDERR {x}", file=sys.stderr)
        return x

    @batch_task(max_size=5)
    def total(xs: list[int]) -> int:
        return sum(xs)

    async def main() -> None:
        if sys.argv[1] == "option":
            results = await (parse | total)(list(range(100)), progress=True).collect()
        else:
            stream = (parse | total)(range(100))
            async with show(stream, interval=0.02):
                results = await stream.collect()
        print(f"RESULT {len(results)}")

    asyncio.run(main())
    """
)


def run_in_terminal(script: Path, *args: str, timeout: float = 120.0) -> list[str]:
    """Run ``script`` on a new pseudo-terminal of COLUMNS x ROWS; the screen at the end."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR")}
    env["TERM"] = "xterm-256color"
    child = subprocess.Popen(
        [sys.executable, str(script), *args], stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True
    )
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if not ready:
                if child.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
        if child.poll() is None:
            child.kill()
        child.wait()
    assert child.returncode == 0, b"".join(chunks).decode(errors="replace")
    screen = pyte.Screen(COLUMNS, ROWS)
    pyte.Stream(screen).feed(b"".join(chunks).decode("utf-8", errors="replace"))
    return [line.rstrip() for line in screen.display]


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "run.py"
    path.write_text(PROGRAM)
    return path


@pytest.mark.parametrize("how", ["show", "option"])
def test_output_during_the_run_stays_above_the_last_frame(script: Path, how: str) -> None:
    screen = run_in_terminal(script, how)
    text = "\n".join(screen)
    # Nothing printed, logged or warned during the run is lost, in the order it came.
    expected = ["PRINT 0", "LOG logged 0", "PRINT 20", "LOG logged 30", "PRINT 40", "STDERR 50",
                "PRINT 60", "LOG logged 60", "PRINT 80", "LOG logged 90"]
    positions = [next(i for i, line in enumerate(screen) if line == want) for want in expected]
    assert positions == sorted(positions), text
    assert "skipping item 7" in text  # conveyor's own warning, through logging, on stderr
    # One frame at the end, below all of it: no stale heading lines were left behind.
    headings = [i for i, line in enumerate(screen) if line.startswith("conveyor: parse | total")]
    assert len(headings) == 1, text
    assert headings[0] > positions[-1]
    last = "\n".join(screen[headings[0]:])
    assert "[done " in last and "20 delivered" in last and "100% of" in last
    # Every figure is there at 60 columns (lines wrap, never cut).
    assert all(len(line) <= COLUMNS for line in screen)
    for figure in ("100% 100/100", "in 100 · out 99 · skipped 1", "failed 0", "in flight 0", "retries 0",
                   "99/99", "in 99 · out 20 · skipped 0", "mean"):
        assert figure in last, last
    assert screen.index(next(line for line in screen if line.startswith("RESULT 20"))) > headings[0]


LEFT_EARLY = textwrap.dedent(
    """
    import asyncio, gc, sys
    from conveyor import single_task

    @single_task
    async def slow(x: int) -> int:
        await asyncio.sleep(0.005)
        return x

    async def main() -> None:
        async for x in slow(range(10_000), progress=True):
            if x == 20:
                break                      # the stream is dropped: its run and the display end
        gc.collect()
        await asyncio.sleep(0.3)
        left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        print(f"AFTER tasks={len(left)} stdout={type(sys.stdout).__name__}")

    asyncio.run(main())
    """
)


def test_leaving_the_loop_early_ends_the_display_and_gives_the_terminal_back(tmp_path: Path) -> None:
    script = tmp_path / "early.py"
    script.write_text(LEFT_EARLY)
    screen = run_in_terminal(script)
    text = "\n".join(screen)
    headings = [i for i, line in enumerate(screen) if line.startswith("conveyor: slow")]
    assert len(headings) == 1 and "[closed " in screen[headings[0]], text
    after = next(i for i, line in enumerate(screen) if line.startswith("AFTER"))
    assert screen[after] == "AFTER tasks=0 stdout=TextIOWrapper" and after > headings[0], text
