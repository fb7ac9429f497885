"""Draw one diagram per branching step for docs/graphs.md.

    .venv/bin/python scripts/render_graph_diagrams.py [--out docs/images]

Writes docs/images/graph_{fan,fork,route,tee,merge}.png from small pipelines built
here (Graphviz's `dot` needed).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from conveyor import Pipeline, fan, fork, merge, route_by_type, single_task, tee

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Good:
    value: int


@dataclass
class Bad:
    reason: str


@single_task
def parse(text: str) -> Good | Bad:
    return Good(int(text)) if text.isdigit() else Bad(text)


@single_task
def store(row: Good) -> int:
    return row.value


@single_task
def reject(row: Bad) -> None:
    pass


@single_task
def price(product: str) -> float:
    return 1.0


@single_task
def stock(product: str) -> int:
    return 1


@single_task
def combine(pair: tuple[float, int]) -> str:
    return str(pair)


@single_task
def upper(text: str) -> str:
    return text.upper()


@single_task
def length(text: str) -> int:
    return len(text)


@single_task
def audit(text: str) -> None:
    pass


@single_task
def orders() -> Iterator[int]:
    yield 1


@single_task
def refunds() -> Iterator[float]:
    yield 1.0


DIAGRAMS: dict[str, Pipeline[object, object]] = {
    "fan": upper | fan(upper, length),
    "fork": fork(price, stock) | combine,
    "route": parse | route_by_type((Good, store), (Bad, reject)),
    "tee": upper | tee(audit) | length,
    "merge": merge(orders, refunds),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, pipeline in DIAGRAMS.items():
        print(pipeline.render(args.out / f"graph_{name}.png"))


if __name__ == "__main__":
    main()
