"""The programs in examples/: each one's main() returns exactly what it shows,
and every example file runs to completion as a script."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.py"))

_loaded: dict[str, ModuleType] = {}


def load(name: str) -> ModuleType:
    """Import examples/<name>.py by path (examples/ is not a package)."""
    if name not in _loaded:
        path = EXAMPLES / f"{name}.py"
        module_name = f"conveyor_example_{name}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        assert spec is not None and spec.loader is not None, path
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module  # dataclasses look their module up here
        spec.loader.exec_module(module)
        _loaded[name] = module
    return _loaded[name]


async def run_main(name: str) -> Any:
    return await load(name).main()


# -- one test per example ---------------------------------------------------------------------


async def test_quickstart() -> None:
    report = await run_main("quickstart")
    assert report.rows == [
        "Ada Lovelace      36  London, UK",
        "Alan Turing       41  Wilmslow, UK",
        "Grace Hopper      85  Arlington, USA",
        "Edsger Dijkstra   72  Nuenen, Netherlands",
        "Donald Knuth      86  Stanford, USA",
    ]
    assert sorted(report.rejected) == [
        "Barbara Liskov: age is missing or out of range",
        "Nobody: age is missing or out of range",
    ]
    # max_size=3: the batch task saw the valid people three, then two, at a time
    assert report.lookup_requests == [["London", "Wilmslow", "Arlington"], ["Nuenen", "Stanford"]]


async def test_basic_single() -> None:
    collected, streamed = await run_main("tasks_basic_single")
    assert collected == ["HELLO", "WORLD"]
    assert streamed == ["STREAMS", "ARE", "LAZY"]


async def test_options() -> None:
    outcome = await run_main("tasks_options")
    assert outcome.results == ["Alpha", "Omega"]
    # one transient failure each, then success; "cursed" uses all three attempts
    assert outcome.calls == {"alpha": 2, "cursed": 3, "omega": 2}
    assert outcome.logged_task_names == {"titlecase"}
    assert outcome.description == "titlecase: single, on_error=skip_item, attempts=3"


async def test_basic_batch() -> None:
    batches, outputs = await run_main("tasks_basic_batch")
    assert batches == [["a", "b", "c", "d", "e"], ["f"]]
    assert outputs == ["A", "B", "C", "D", "E", "F"]  # single items, not lists


async def test_batch_options() -> None:
    outcome = await run_main("tasks_batch_options")
    assert outcome.attempts_per_batch == {
        (1, 2, 3): 1,
        (4, 5, 6): 2,  # timed out once, the retry succeeded
        (7, 8, 9): 3,  # failed every attempt: skipped
        (10,): 1,  # the remainder, below min_size, is still processed
    }
    assert [r["id"] for r in outcome.stored] == [1, 2, 3, 4, 5, 6, 10]
    assert outcome.stored[0] == {"id": 1, "name": "Ada"}


async def test_skip_errors() -> None:
    parsed, batches, shouted = await run_main("tasks_skip_errors")
    assert parsed == [{"id": 1}, {"id": 2}, [3]]
    assert batches == [["a", "b"], ["boom", "c"], ["d"]]
    assert shouted == ["A", "B", "D"]  # "c" went down with its batch


async def test_retry_backoff() -> None:
    outcome = await run_main("tasks_retry_backoff")
    assert outcome.responses == [{"url": "/stable", "status": 200}, {"url": "/flaky", "status": 200}]
    assert outcome.calls == {"/stable": 1, "/flaky": 3, "/down": 4}
    assert outcome.waits == [0.01, 0.02, 0.03]


async def test_fail_fast() -> None:
    outcome = await run_main("tasks_fail_fast")
    assert outcome.error == "ValueError: Empty item not allowed"
    assert len(outcome.notes) == 1
    assert "task 'critical_task'" in outcome.notes[0]
    assert "failed on item ''" in outcome.notes[0]
    assert outcome.processed == ["alpha", ""]  # "gamma" never reached the task


async def test_custom_error_handler() -> None:
    nicknames, handled, stopped = await run_main("tasks_custom_error_handler")
    assert nicknames == ["BOB", "<none>", "BILL"]
    assert handled == [
        "validated_task: skipped '   ' (empty item)",
        "validated_task: no nickname for 'Ada'",
    ]
    assert stopped == "RuntimeError: refusing suspicious input"


async def test_batch_sizes() -> None:
    outcome = await run_main("tasks_batch_sizes")
    assert outcome.inserted_ids == list(range(1, 26))
    assert outcome.insert_call_sizes == [25]
    assert outcome.api_call_sizes == [10, 10, 5]
    assert [q["sku"] for q in outcome.quotes] == [f"sku-{n}" for n in range(1, 26)]
    assert outcome.quotes[2] == {"sku": "sku-3", "price": 4.5}


async def test_side_inputs() -> None:
    orders = await run_main("tasks_side_inputs")
    assert orders == [
        {"id": 1, "region": "eu", "enriched": "processed", "vat_rate": 0.2, "region_known": True},
        {"id": 2, "region": "us", "enriched": "processed", "vat_rate": 0.2, "region_known": False},
    ]


async def test_custom_return_types() -> None:
    parsed, summaries = await run_main("tasks_custom_return_types")
    assert [p["length"] for p in parsed] == [8, 9, 6, 8, 8, 8, 10]
    assert parsed[2] == {"parsed": [1, 2], "length": 6, "valid": False}
    assert summaries == [
        {"count": 5, "total_length": 39, "all_valid": False},
        {"count": 2, "total_length": 18, "all_valid": True},
    ]


async def test_focused_tasks() -> None:
    outcome = await run_main("tasks_focused_tasks")
    assert outcome.strict_error == "invalid email: 'not-an-email'"
    assert outcome.sent == [True, True]
    assert outcome.outbox == ["ada@example.org", "grace@example.org"]


def test_every_example_has_a_test() -> None:
    tested = {name.removeprefix("test_") for name in globals() if name.startswith("test_")}
    names = {path.stem.removeprefix("tasks_") for path in EXAMPLE_FILES}
    assert names <= tested, f"examples without a test: {sorted(names - tested)}"


# -- every example runs as a script -------------------------------------------------------------


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[p.name for p in EXAMPLE_FILES])
def test_example_runs_as_a_script(path: Path) -> None:
    # The package is not installed into the dev venv, so point the child at the checkout.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run(
        [sys.executable, str(path)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, f"{path.name} failed:\n{proc.stdout}\n{proc.stderr}"
    assert proc.stdout.strip(), f"{path.name} printed nothing"
    assert "Traceback" not in proc.stderr, proc.stderr


async def test_graph_etl_routing() -> None:
    """Good rows are stored in SQLite, the rest rejected into JSONL with a reason."""
    outcome = await run_main("graph_etl_routing")
    assert outcome["stored"] == [(1, "ada", 12.5), (2, "grace", 7.0), (6, "ken", 99.99)]
    assert [r["reason"] for r in outcome["rejects"]] == [
        "order id 'three' is not a number", "negative amount", "expected 3 fields, got 2",
    ]
    assert outcome["results"][:2] == [1, 2] and outcome["results"][-1] == 6  # input order


async def test_graph_enrichment_fork() -> None:
    """Both services' answers are paired per product, in input order."""
    listings = await run_main("graph_enrichment_fork")
    assert [(l.product, l.price, l.in_stock) for l in listings] == [
        ("apple", "1.20", True), ("pear", "0.95", False), ("fig", "3.10", True), ("kiwi", "0.55", True),
    ]


async def test_executor_threads_http() -> None:
    """40 blocking fetches from the example's own local server, in input order, overlapped."""
    report = await run_main("executor_threads_http")
    assert report.greetings == [f"hello user-{i}" for i in range(40)]
    assert report.seconds < 40 * 0.05  # generous: one after the other would take at least 2 s


async def test_executor_processes_cpu() -> None:
    """The CPU stage in processes gives what it gives inline, in input order."""
    report = await run_main("executor_processes_cpu")
    module = load("executor_processes_cpu")
    inline = module.single_task(module.checksum.invoker.fn)
    expected = [f"{seed}:{value}" for seed, value in await inline(range(100)).collect()]
    assert report.labels == expected


async def test_errors_api_enrichment() -> None:
    report = await run_main("errors_api_enrichment")
    # every order enriched or in the dead-letter file, none lost: the unknown customer
    # after its retries, the hanging call after three timeouts
    assert report.enriched == [(1, "Ada Lovelace"), (2, "Grace Hopper"), (5, "Alan Turing")]
    assert report.rejects == [(3, "nobody", "UnknownCustomer", 3), (4, "edsger", "TimeoutError", 3)]
    assert report.dead_lettered == 2
    # enrich: 1 + 2 (grace, retried) + 3 + 3 + 1 calls; check_country: 3 calls
    assert report.requests == 13
    # one bucket shared by both tasks that call the API
    example = load("errors_api_enrichment")
    assert example.enrich.rate_limit is example.check_country.rate_limit is example.api_limit
    assert "dead letters" in report.table and "rate wait" in report.table


async def test_executor_dask_cluster() -> None:
    """The scoring stage runs on an in-process Dask cluster, a model per worker."""
    pytest.importorskip("distributed")
    assert await run_main("executor_dask_cluster") == [
        "review 1: positive (+3)", "review 2: negative (-3)", "review 3: neutral (+0)", "review 4: positive (+3)",
    ]
