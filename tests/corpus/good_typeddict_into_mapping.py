"""A TypedDict fits Mapping[str, Any] and a TypedDict that needs a subset of its keys."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict

from conveyor import single_task


class Movie(TypedDict):
    title: str
    year: int


class Titled(TypedDict):
    title: str


@single_task
def load(title: str) -> Movie:
    return {"title": title, "year": 1999}


@single_task
def dump(record: Mapping[str, Any]) -> str:
    return ",".join(f"{k}={v}" for k, v in record.items())


@single_task
def heading(record: Titled) -> str:
    return record["title"]


into_mapping = load | dump
into_smaller_typeddict = load | heading
