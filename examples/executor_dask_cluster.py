"""A heavy stage on a Dask cluster, with a model loaded once per Dask worker.

Reading and formatting stay on the event loop; `score` runs on the cluster's workers
(`executor=DaskExecutor(...)`), at most 16 calls at a time. Its `model` is made by
`load_model` once on each worker (`per_worker`), never pickled, and closed when the
run ends. Without an address the example starts an in-process `LocalCluster`; to use
a real one, pass its scheduler address:

    python examples/executor_dask_cluster.py tcp://scheduler:8786

(conveyor and this file must then be importable on the workers, as for any Dask code.)
"""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass

from conveyor import DaskExecutor, per_worker, single_task


class Model:
    """Stands for a model that takes seconds to load: one per worker, not per call."""

    def __init__(self) -> None:
        self.weights = {"great": 2, "good": 1, "bad": -1, "awful": -2}
        self.pid = os.getpid()

    def predict(self, text: str) -> int:
        return sum(self.weights.get(word, 0) for word in text.lower().split())

    def close(self) -> None:
        self.weights = {}


def load_model() -> Model:
    return Model()


@dataclass(frozen=True)
class Review:
    id: int
    text: str


@single_task
def parse(line: str) -> Review:
    number, _, text = line.partition(":")
    return Review(int(number), text.strip())


def score_review(review: Review, model: Model) -> tuple[int, int]:
    return review.id, model.predict(review.text)


@single_task
def label(scored: tuple[int, int]) -> str:
    review_id, score = scored
    verdict = "positive" if score > 0 else "negative" if score < 0 else "neutral"
    return f"review {review_id}: {verdict} ({score:+d})"


LINES = [
    "1: A great film, really good",
    "2: Awful plot and bad acting",
    "3: It was a film",
    "4: Good music, great cast",
]


async def main(address: str | None = None) -> list[str]:
    if address is None:
        from distributed import LocalCluster

        async with LocalCluster(processes=False, n_workers=2, dashboard_address=":0", asynchronous=True) as cluster:
            return await main(cluster.scheduler_address)
    score = single_task(executor=DaskExecutor(address), concurrency_limit=16)(score_review)
    pipeline = parse | score.with_inputs(model=per_worker(load_model)) | label
    return await pipeline(LINES).collect()


if __name__ == "__main__":
    for line in asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else None)):
        print(line)
