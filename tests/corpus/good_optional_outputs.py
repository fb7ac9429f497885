"""None never travels: R | None outputs R, also for yielded values; int fits an int | None input."""

from collections.abc import Iterator

from conveyor import single_task


@single_task
def maybe_parse(text: str) -> int | None:
    return int(text) if text.isdigit() else None


@single_task
def parse_all(text: str) -> Iterator[int | None]:
    for part in text.split(","):
        yield int(part) if part.isdigit() else None


@single_task
def need_int(number: int) -> int:
    return number + 1


@single_task
def accept_optional(number: int | None) -> str:
    return "none" if number is None else str(number)


returned = maybe_parse | need_int
yielded = parse_all | need_int
widened = need_int | accept_optional
