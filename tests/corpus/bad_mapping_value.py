"""Mapping values are covariant but must still fit: Mapping[str, str] into Mapping[str, int]."""

from collections.abc import Mapping

from conveyor import single_task

PRODUCER = "headers"
CONSUMER = "largest"


@single_task
def headers(url: str) -> Mapping[str, str]:
    return {"host": url}


@single_task
def largest(table: Mapping[str, int]) -> int:
    return max(table.values(), default=0)


pipeline = headers | largest  # E: pipeline-mismatch
