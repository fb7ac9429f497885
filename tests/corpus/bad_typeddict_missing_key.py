"""TypedDicts are structural: Movie lacks the key 'rating' that Review requires."""

from __future__ import annotations

from typing import TypedDict

from conveyor import single_task

PRODUCER = "load"
CONSUMER = "stars"


class Movie(TypedDict):
    title: str
    year: int


class Review(TypedDict):
    title: str
    rating: int


@single_task
def load(title: str) -> Movie:
    return {"title": title, "year": 1999}


@single_task
def stars(review: Review) -> str:
    return "*" * review["rating"]


pipeline = load | stars  # E: pipeline-mismatch
