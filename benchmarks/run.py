"""Run the conveyor benchmarks: ``python benchmarks/run.py [--quick] [--only W1,W2] [--out DIR]``.

Writes ``DIR/latest.md`` and ``DIR/latest.json`` (default DIR: benchmarks/results).
Workloads: W1 overhead, W2 latency-bound, W3 batch, W4 memory, W5 first result,
W6 composition, I1 import cost. See benchmarks/README.md for what each measures and its target.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from pathlib import Path
from types import ModuleType

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root

from benchmarks import report  # noqa: E402
from benchmarks.harness import Result, Settings  # noqa: E402

WORKLOADS: dict[str, str] = {
    "W1": "benchmarks.workloads.w1_overhead",
    "W2": "benchmarks.workloads.w2_latency",
    "W3": "benchmarks.workloads.w3_batch",
    "W4": "benchmarks.workloads.w4_memory",
    "W5": "benchmarks.workloads.w5_first_result",
    "W6": "benchmarks.workloads.w6_composition",
    "I1": "benchmarks.import_cost",
}
ALIASES = {"COMPOSITION": "W6", "COMPOSE": "W6", "IMPORT": "I1"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smaller sizes and fewer repeats (< ~2 min)")
    parser.add_argument("--only", default="", help="comma-separated workloads, e.g. W1,W2 (default: all)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results",
                        help="directory for latest.md and latest.json")
    args = parser.parse_args(argv)
    selected = [ALIASES.get(w.strip().upper(), w.strip().upper()) for w in args.only.split(",") if w.strip()]
    unknown = [w for w in selected if w not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload(s) {', '.join(unknown)}; choose from {', '.join(WORKLOADS)}")
    args.selected = list(dict.fromkeys(selected)) or list(WORKLOADS)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = Settings(quick=args.quick)
    machine = report.machine_info()
    sources = report.source_hashes()
    results: list[Result] = []
    started = time.perf_counter()
    for workload_id in args.selected:
        module: ModuleType = importlib.import_module(WORKLOADS[workload_id])
        print(f"{module.TITLE} ...", end=" ", flush=True)
        begun = time.perf_counter()
        rows: list[Result] = module.run(settings)
        results.extend(rows)
        print(f"{time.perf_counter() - begun:.1f} s")
        for row in rows:
            verdict = {True: "met", False: "MISSED", None: ""}[row.met]
            ratio = f"  ratio {row.ratio:.2f}" if row.ratio is not None else ""
            print(f"    {row.case}: {row.conveyor:.4g} {row.metric}{ratio}  {verdict}")
    machine["load_average_at_end"] = os.getloadavg()
    changed = report.changed_sources(sources)
    if changed:
        machine["warning"] = f"conveyor/ changed during the run ({', '.join(changed)}): figures may mix versions"
        print(f"WARNING: {machine['warning']}")
    run_settings = {"mode": "quick" if args.quick else "full", "workloads": args.selected,
                    "seconds": time.perf_counter() - started}
    md, js = report.write(args.out, machine, run_settings, results)
    print(f"wrote {md} and {js} in {run_settings['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
