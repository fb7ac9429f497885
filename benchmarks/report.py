"""Machine information and the two report files: ``latest.md`` (a table) and ``latest.json``."""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from benchmarks.harness import ROOT, Result


def machine_info() -> dict[str, Any]:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    cpu = line.partition(":")[2].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "load_average_at_start": os.getloadavg(),
        "conveyor_commit": _git("rev-parse", "--short", "HEAD"),
        "conveyor_uncommitted_changes": _git("status", "--porcelain", "--", "conveyor").splitlines(),
        "conveyor_source_sha256": _source_hash(),
    }


def source_hashes() -> dict[str, str]:
    """A hash of each conveyor/**/*.py as measured (the code may be uncommitted work in progress)."""
    return {
        str(path.relative_to(ROOT)): hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        for path in sorted((ROOT / "conveyor").rglob("*.py"))
    }


def _source_hash() -> str:
    return hashlib.sha256(json.dumps(source_hashes(), sort_keys=True).encode()).hexdigest()[:12]


def changed_sources(before: dict[str, str]) -> list[str]:
    """Files of conveyor/ added, removed or edited since ``before`` was taken."""
    after = source_hashes()
    return sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))


def _git(*args: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    except OSError:
        return "unknown"
    return done.stdout.strip() if done.returncode == 0 else "unknown"


def write(out: Path, machine: dict[str, Any], settings: dict[str, Any], results: list[Result]) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    md, js = out / "latest.md", out / "latest.json"
    md.write_text(markdown(machine, settings, results))
    payload = {"machine": machine, "settings": settings, "results": [r.to_json() for r in results]}
    js.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return md, js


def markdown(machine: dict[str, Any], settings: dict[str, Any], results: list[Result]) -> str:
    changes = machine["conveyor_uncommitted_changes"]
    load_start = ", ".join(f"{x:.2f}" for x in machine["load_average_at_start"])
    load_end = ", ".join(f"{x:.2f}" for x in machine["load_average_at_end"])
    lines = [
        "# conveyor benchmarks",
        "",
        f"- date: {machine['date']} ({settings['mode']} run, {settings['seconds']:.0f} s)",
        f"- CPU: {machine['cpu']}, {machine['cores']} cores ({machine['usable_cores']} usable)",
        f"- Python {machine['python']} ({machine['implementation']}), {machine['platform']}",
        f"- conveyor at {machine['conveyor_commit']}"
        + (f" with uncommitted changes in {len(changes)} file(s)" if changes else "")
        + f" (source sha256 {machine['conveyor_source_sha256']})",
        f"- load average (1, 5, 15 min) at start: {load_start}; at end: {load_end}",
        *([f"- **warning: {machine['warning']}**"] if "warning" in machine else []),
        "",
        "Figures are medians of the repeats (all runs are in latest.json). "
        "ratio = conveyor / baseline (lower is better for conveyor).",
        "",
        "| workload | case | metric | conveyor | baseline | baseline value | ratio | target | met |",
        "|---|---|---|--:|---|--:|--:|---|:-:|",
    ]
    for r in results:
        met = {True: "yes", False: "**NO**", None: ""}[r.met]
        ratio = f"{r.ratio:.2f}×" if r.ratio is not None else ""
        baseline = _number(r.baseline) if r.baseline is not None else ""
        case = f"{r.case} ({r.note})" if r.note else r.case
        target = r.target.text if r.target else ""
        cells = [r.workload, case, r.metric, _number(r.conveyor), r.baseline_name or "", baseline, ratio, target, met]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"
