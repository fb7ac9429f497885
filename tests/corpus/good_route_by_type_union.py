"""route_by_type without a default: the item type is one of the listed types
(here a union of them), each branch receives its own."""

from dataclasses import dataclass
from typing import assert_type

from conveyor import Pipeline, route_by_type, single_task


@dataclass
class Good:
    value: int


@dataclass
class Bad:
    why: str


@single_task
def check(text: str) -> Good | Bad:
    return Good(int(text)) if text.isdigit() else Bad(text)


@single_task
def keep(good: Good) -> int:
    return good.value


@single_task
def reject(bad: Bad) -> str:
    return bad.why


exhaustive = check | route_by_type((Good, keep), (Bad, reject))
assert_type(exhaustive, Pipeline[str, int | str])
