"""Draw the quickstart pipeline, with the figures of one run, for the README and docs.

    .venv/bin/python scripts/render_readme_diagram.py [--out docs/images]

Imports examples/quickstart.py, runs its pipeline on the example's data and writes
docs/images/quickstart.svg and docs/images/quickstart.png (Graphviz's `dot` needed).
The mean latencies differ a little from run to run, so the images do too.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from conveyor.runtime.stats import RunStats

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "quickstart.py"


def load_quickstart() -> ModuleType:
    """Import examples/quickstart.py by path (examples/ is not a package)."""
    spec = importlib.util.spec_from_file_location("quickstart", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["quickstart"] = module  # its dataclasses look the module up by name
    spec.loader.exec_module(module)
    return module


async def run_once(quickstart: ModuleType) -> RunStats:
    stream = quickstart.pipeline(quickstart.PEOPLE.splitlines())
    await stream.collect()
    stats: RunStats = stream.stats
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images", help="folder for the images")
    args = parser.parse_args(argv)
    quickstart = load_quickstart()
    stats = asyncio.run(run_once(quickstart))
    args.out.mkdir(parents=True, exist_ok=True)
    for suffix in ("svg", "png"):
        path = quickstart.pipeline.render(args.out / f"quickstart.{suffix}", stats=stats)
        print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    print(stats.table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
