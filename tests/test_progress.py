"""Live progress: where it draws (terminal, notebook, quietly elsewhere), its frames,
and that it always stops cleanly. The real terminal is in test_progress_terminal.py."""

from __future__ import annotations

import asyncio
import io

import pytest

from conveyor import batch_task, single_task
from conveyor.progress import Frame, format_seconds, frame, input_size, show
from conveyor.runtime.stats import RunStats, StageStats

from .helpers import settle


@single_task(concurrency_limit=4)
async def slow(x: int) -> int:
    await asyncio.sleep(0.005)
    return x


@batch_task(max_size=5)
def total(xs: list[int]) -> int:
    return sum(xs)


class Broken(io.StringIO):
    def write(self, text: str) -> int:
        raise OSError("the output went away")


async def test_forced_on_a_file_it_writes_the_last_frame_once_as_plain_text() -> None:
    out = io.StringIO()
    stream = (slow | total)(range(40))
    async with show(stream, interval=0.01, file=out, enabled=True) as same:
        assert same is stream
        assert await stream.collect() == [sum(range(i, i + 5)) for i in range(0, 40, 5)]
    text = out.getvalue()
    assert "\x1b" not in text  # no escape codes outside a terminal
    lines = text.splitlines()
    assert lines[0].startswith("conveyor: slow | total  [done ")
    assert lines[0].endswith(", 8 delivered, 100% of 40]")
    assert lines[1].split() == ["slow", "100%", "40/40"]
    assert "in 40 · out 40 · skipped 0 · failed 0 · in flight 0 · retries 0 · mean" in lines[2]
    assert lines[3].split() == ["total", "40/40"]
    assert "in 40 · out 8 ·" in lines[4]
    assert len(lines) == 5  # one frame, not one per redraw
    assert not await settle(1.0)


async def test_by_default_anything_but_a_terminal_or_a_notebook_stays_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    log = io.StringIO()
    stream = slow(range(3))
    async with show(stream, interval=0.01, file=log) as running:
        await running.collect()
    assert log.getvalue() == ""
    assert show(slow(range(3)), file=log).enabled is False
    assert show(slow(range(3)), file=log, enabled=False).enabled is False


async def test_a_dumb_terminal_is_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setenv("TERM", "dumb")
    assert show(slow(range(3)), file=Tty()).where == "off"
    assert show(slow(range(3)), file=Tty(), enabled=True).where == "plain"
    monkeypatch.setenv("TERM", "xterm")
    assert show(slow(range(3)), file=Tty()).where == "terminal"


async def test_stderr_is_the_default(capsys: pytest.CaptureFixture[str]) -> None:
    stream = slow(range(3))
    async with show(stream, enabled=True):
        await stream.collect()
    assert "conveyor: slow  [done " in capsys.readouterr().err


async def test_an_error_in_the_block_stops_it_and_passes_through() -> None:
    out = io.StringIO()
    stream = slow(range(100))
    with pytest.raises(ValueError, match="enough"):
        async with show(stream, interval=0.01, file=out, enabled=True):
            async for item in stream:
                if item == 3:
                    raise ValueError("enough")
    await stream.aclose()
    assert "[stopped by ValueError " in out.getvalue()
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
    assert "[cancelled " in out.getvalue()
    assert not await settle(1.0)


async def test_a_broken_output_turns_it_off_without_failing_the_run() -> None:
    stream = slow(range(5))
    progress = show(stream, interval=0.01, file=Broken(), enabled=True)
    async with progress:
        assert await stream.collect() == [0, 1, 2, 3, 4]
    assert progress.enabled is False
    assert not await settle(1.0)


def test_frame_total_percentage_and_eta() -> None:
    stats = RunStats([
        StageStats("parse", items_in=1200, items_out=1190, calls=1200, skipped=10, busy_seconds=2.4, finished_calls=1195),
        StageStats("store", items_in=1100, items_out=11, calls=11, finished_calls=11),
    ], delivered=11)
    heading, parse_bar, parse_counts, store_bar, store_counts = frame("parse | store", stats, 3.0, "running", total=4800)
    assert heading == "conveyor: parse | store  [running 3.0s, 11 delivered, 25% of 4,800, ETA 0:09]"
    assert parse_bar.split() == ["parse", "25%", "1,200/4,800"]
    assert parse_counts.strip() == "in 1,200 · out 1,190 · skipped 10 · failed 0 · in flight 5 · retries 0 · mean 2.0 ms"
    assert store_bar.split() == ["store", "1,100/1,190"]  # taken in / arrived from parse
    assert "in flight 0" in store_counts
    unknown = frame("parse | store", stats, 3.0, "running")
    assert unknown[0] == "conveyor: parse | store  [running 3.0s, 11 delivered]"
    assert unknown[1].split() == ["parse", "1,200"]
    assert Frame("p", stats, 3.0, "done", 1200).eta() is None
    assert [format_seconds(s) for s in (2.5, 0.0125, 0.00004)] == ["2.50 s", "12.5 ms", "40 µs"]
    with pytest.raises(ValueError, match="interval must be a positive number"):
        show(total([1]), interval=0)


def test_input_size() -> None:
    assert input_size([1, 2, 3]) == 3
    assert input_size(range(10)) == 10
    assert input_size(iter([1])) is None
    assert input_size(x for x in range(3)) is None


async def test_progress_as_a_run_option(monkeypatch: pytest.MonkeyPatch) -> None:
    from conveyor import progress as progress_module

    screen = io.StringIO()
    monkeypatch.setattr(progress_module, "_where", lambda file, enabled: "plain")
    monkeypatch.setattr(progress_module.sys, "stderr", screen)

    @single_task
    async def tick(x: int) -> int:
        await asyncio.sleep(0.001)
        return x

    assert await tick(range(20), progress=True).collect() == list(range(20))
    assert "conveyor: tick  [done" in screen.getvalue() and "100% of 20" in screen.getvalue()
    me = asyncio.current_task()
    assert not [t for t in asyncio.all_tasks() if t is not me and not t.done()]


async def test_progress_option_is_quiet_when_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    @single_task
    def ident(x: int) -> int:
        return x

    assert await ident([1, 2], progress=True).collect() == [1, 2]
    assert capsys.readouterr().err == ""


def test_branch_stages_are_more_stages_indented_under_their_step() -> None:
    fan = "branch 'dbl' (1 of 2) of fan at p.py:9"
    other = "branch 'inc' (2 of 2) of fan at p.py:9"
    stats = RunStats([
        StageStats("inc", items_in=100, items_out=100),
        StageStats("fan(dbl, inc)", items_in=100, items_out=150),
        StageStats("dbl", items_in=80, items_out=80, path=fan),
        StageStats("half", items_in=70, items_out=70, path=fan),
        StageStats("inc", items_in=75, items_out=75, path=other),
        StageStats("show", items_in=150, items_out=150),
    ])
    shown = Frame("p", stats, 1.0, "running", total=200)
    assert shown.totals() == [200, 100, None, 80, None, 150]
    lines = shown.lines()
    assert lines[5].split() == ["dbl", "80"] and lines[5].startswith("    dbl")  # first of its branch: a count
    assert lines[7].startswith("    half  70/80") and lines[8].startswith("      in 70 ")
    assert lines[11].split() == ["show", "150/150"] and lines[11].startswith("  show")
    assert "\u00a0\u00a0dbl" in stats._repr_html_()
