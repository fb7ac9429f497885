"""Live progress on stderr: drawn only on a terminal (or when forced), stopped cleanly."""

from __future__ import annotations

import asyncio
import io
import re

import pytest

from conveyor import batch_task, single_task
from conveyor.progress import format_seconds, frame, show
from conveyor.runtime.stats import RunStats, StageStats

from .helpers import settle


@single_task(concurrency_limit=4)
async def slow(x: int) -> int:
    await asyncio.sleep(0.005)
    return x


@batch_task(max_size=5)
def total(xs: list[int]) -> int:
    return sum(xs)


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Broken(io.StringIO):
    def write(self, text: str) -> int:
        raise OSError("the terminal went away")


def frames(output: str) -> list[str]:
    """The frames drawn, split at the cursor-up sequence, without the line clears."""
    return [part.replace("\x1b[2K", "") for part in re.split(r"\x1b\[\d+F", output)]


async def test_forced_on_it_draws_every_stage_and_a_final_frame() -> None:
    out = io.StringIO()
    stream = (slow | total)(range(40))
    async with show(stream, interval=0.01, file=out, enabled=True) as same:
        assert same is stream
        assert await stream.collect() == [sum(range(i, i + 5)) for i in range(0, 40, 5)]
    drawn = frames(out.getvalue())
    assert len(drawn) >= 2
    assert "[running," in drawn[0]
    last = drawn[-1].splitlines()
    assert last[0].startswith("conveyor: slow | total  [done, ") and last[0].endswith(", 8 delivered]")
    assert last[1].split() == ["stage", "in", "out", "skipped", "failed", "retries", "in", "flight", "mean"]
    assert last[2].split()[:7] == ["slow", "40", "40", "0", "0", "0", "0"]
    assert last[3].split()[:3] == ["total", "40", "8"]
    assert not await settle(1.0)


async def test_a_terminal_turns_it_on_and_anything_else_keeps_it_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm")
    terminal, log = FakeTerminal(), io.StringIO()
    for file in (terminal, log):
        stream = slow(range(3))
        async with show(stream, interval=0.01, file=file):
            await stream.collect()
    assert "slow" in terminal.getvalue()
    assert log.getvalue() == ""
    monkeypatch.setenv("TERM", "dumb")
    assert show(slow(range(3)), file=FakeTerminal()).enabled is False
    assert show(slow(range(3)), file=FakeTerminal(), enabled=False).enabled is False


async def test_stderr_is_the_default(capsys: pytest.CaptureFixture[str]) -> None:
    stream = slow(range(3))
    async with show(stream, enabled=True):
        await stream.collect()
    assert "conveyor: slow  [done," in capsys.readouterr().err


async def test_an_error_in_the_block_stops_it_and_passes_through() -> None:
    out = io.StringIO()
    stream = slow(range(100))
    with pytest.raises(ValueError, match="enough"):
        async with show(stream, interval=0.01, file=out, enabled=True):
            async for item in stream:
                if item == 3:
                    raise ValueError("enough")
    await stream.aclose()
    assert "[stopped by ValueError," in frames(out.getvalue())[-1]
    assert not await settle(1.0)


async def test_cancelling_the_consumer_stops_it() -> None:
    out = io.StringIO()
    stream = slow(range(100))

    async def consume() -> None:
        async with show(stream, interval=0.01, file=out, enabled=True):
            await asyncio.sleep(30)

    consumer = asyncio.create_task(consume())
    await asyncio.sleep(0.05)
    consumer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await consumer
    assert "[cancelled," in frames(out.getvalue())[-1]
    assert not await settle(1.0)


async def test_a_broken_output_turns_it_off_without_failing_the_run() -> None:
    stream = slow(range(5))
    progress = show(stream, interval=0.01, file=Broken(), enabled=True)
    async with progress:
        assert await stream.collect() == [0, 1, 2, 3, 4]
    assert progress.enabled is False
    assert not await settle(1.0)


def test_frame_and_interval() -> None:
    stats = RunStats([StageStats("parse", items_in=1200, items_out=1190, calls=1200, skipped=10,
                                 busy_seconds=2.4, finished_calls=1195)], delivered=1190)
    heading, header, row = frame("parse", stats, 3.25, "running")
    assert heading == "conveyor: parse  [running, 3.2s, 1,190 delivered]"
    assert row.split() == ["parse", "1,200", "1,190", "10", "0", "0", "5", "2.0", "ms"]
    assert header.index("mean") + len("mean") == len(row)  # right-aligned columns
    assert [format_seconds(s) for s in (2.5, 0.0125, 0.00004)] == ["2.50 s", "12.5 ms", "40 µs"]
    with pytest.raises(ValueError, match="interval must be a positive number"):
        show(total([1]), interval=0)


async def test_progress_as_a_run_option(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from conveyor import single_task
    from conveyor import progress as progress_module

    screen = io.StringIO()
    monkeypatch.setattr(progress_module, "_is_terminal", lambda file: True)
    monkeypatch.setattr(progress_module.sys, "stderr", screen)

    @single_task
    async def tick(x: int) -> int:
        await asyncio.sleep(0.001)
        return x

    assert await tick(range(20), progress=True).collect() == list(range(20))
    assert "tick" in screen.getvalue() and "done" in screen.getvalue()
    me = asyncio.current_task()
    assert not [t for t in asyncio.all_tasks() if t is not me and not t.done()]


async def test_progress_option_is_quiet_when_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    from conveyor import single_task

    @single_task
    def ident(x: int) -> int:
        return x

    assert await ident([1, 2], progress=True).collect() == [1, 2]
    assert capsys.readouterr().err == ""
