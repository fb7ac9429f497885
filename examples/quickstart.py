"""Quickstart: a small pipeline from raw text lines to a formatted report.

    parse_line  ->  validate  ->  add_country (in batches)  ->  format_row

Run it with `python examples/quickstart.py`. Things to notice:

* each stage is a plain function turned into a task by a decorator, and stages
  are chained with `|`;
* `parse_line` returns None for blank and comment lines, which drops them;
* `validate` raises on bad rows; its error handler notes the reason and skips
  the row, so the rest of the pipeline carries on;
* `add_country` is a batch task: it looks up countries for up to three people per
  call (the fake lookup service counts its calls), and its returned list fans out
  into single items again;
* the results come out in the order of the input lines.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from conveyor import ErrorHandler, batch_task, single_task

PEOPLE = """\
# name, age, city
Ada Lovelace, 36, London
Alan Turing, 41, Wilmslow

Grace Hopper, 85, Arlington
Nobody, -3, Nowhere
Edsger Dijkstra, 72, Nuenen
Barbara Liskov, eighty, Los Angeles
Donald Knuth, 86, Stanford
"""


@dataclass(frozen=True)
class Person:
    name: str
    age: int
    city: str


@dataclass(frozen=True)
class Profile:
    person: Person
    country: str


# -- stage 1: text -> Person ---------------------------------------------------------------


@single_task
def parse_line(line: str) -> Person | None:
    """A plain (sync) function works too. Returning None drops the line."""
    line = line.strip()
    if not line or line.startswith("#"):
        return None
    name, age, city = (part.strip() for part in line.split(","))
    try:
        years = int(age)
    except ValueError:
        years = -1  # left for `validate` to reject, with a clear reason
    return Person(name, years, city)


# -- stage 2: reject what makes no sense -------------------------------------------------


class RememberRejects(ErrorHandler):
    """Keeps the reason of every rejected row, then lets the run go on without it."""

    def __init__(self) -> None:
        self.rejects: list[str] = []

    async def handle_error(self, error: Exception, item: Any, task_name: str, attempt: int) -> tuple[bool, Any]:
        self.rejects.append(f"{item.name}: {error}")
        return True, None  # carry on, and drop this item


rejects = RememberRejects()


@single_task(error_handler=rejects)
async def validate(person: Person) -> Person:
    if not 0 <= person.age <= 130:
        raise ValueError("age is missing or out of range")
    return person


# -- stage 3: enrich in batches ------------------------------------------------------------


@dataclass
class FakeGeoService:
    """Pretends to be a remote service with a bulk endpoint."""

    countries: dict[str, str] = field(default_factory=lambda: {
        "London": "UK", "Wilmslow": "UK", "Nuenen": "Netherlands",
        "Arlington": "USA", "Stanford": "USA", "Los Angeles": "USA",
    })
    requests: list[list[str]] = field(default_factory=list)

    async def lookup(self, cities: list[str]) -> list[str]:
        self.requests.append(list(cities))
        await asyncio.sleep(0.01)  # one network round trip per batch
        return [self.countries.get(city, "unknown") for city in cities]


geo = FakeGeoService()


@batch_task(max_size=3)
async def add_country(people: list[Person]) -> list[Profile]:
    countries = await geo.lookup([person.city for person in people])
    return [Profile(person, country) for person, country in zip(people, countries)]


# -- stage 4: presentation -----------------------------------------------------------------


@single_task
def format_row(profile: Profile) -> str:
    person = profile.person
    return f"{person.name:<16} {person.age:>3}  {person.city}, {profile.country}"


pipeline = parse_line | validate | add_country | format_row


@dataclass(frozen=True)
class Report:
    rows: list[str]
    rejected: list[str]
    lookup_requests: list[list[str]]


async def main() -> Report:
    rejects.rejects.clear()
    geo.requests.clear()
    rows = await pipeline(PEOPLE.splitlines()).collect()
    return Report(rows, list(rejects.rejects), list(geo.requests))


if __name__ == "__main__":
    report = asyncio.run(main())
    print(f"Pipeline: {pipeline.name}\n")
    print(f"{'NAME':<16} AGE  LOCATION")
    for row in report.rows:
        print(row)
    print(f"\nRejected {len(report.rejected)} row(s):")
    for reason in report.rejected:
        print(f"  - {reason}")
    print(f"\nCountry lookups: {len(report.lookup_requests)} batched request(s)")
    for cities in report.lookup_requests:
        print(f"  - {', '.join(cities)}")
