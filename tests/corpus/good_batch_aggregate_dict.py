"""A batch task returning a dict aggregates: the whole dict is ONE item downstream."""

from collections.abc import Mapping

from conveyor import batch_task, single_task


@batch_task
def count_words(words: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for word in words:
        counts[word] = counts.get(word, 0) + 1
    return counts


@single_task
def total(counts: Mapping[str, int]) -> int:
    return sum(counts.values())


@single_task
def keys(counts: dict[str, int]) -> list[str]:
    return sorted(counts)


pipeline = count_words | total
exact = count_words | keys
