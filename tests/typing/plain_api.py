"""conveyor's public API under plain typing: what every checker sees without the plugin.

Checked by mypy without the plugin and with it (tests/test_static_mypy.py) and by
pyright (tests/test_static_pyright.py): every line whose comment starts with "E" must
be reported, and no other line (an ``assert_type`` that does not hold is reported
too). Never run: it only has to type-check.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Never, assert_type

from typing_extensions import TypeIs

from conveyor import (
    BatchTask,
    Pipeline,
    RateLimiter,
    SingleTask,
    Stream,
    batch_task,
    fan,
    fork,
    merge,
    route,
    route_by_key,
    route_by_type,
    side,
    single_task,
    tee,
)
from conveyor.task import NoOutput

# -- stage types: each shape of function, bare and with options --------------------------------


@single_task
def parse(text: str) -> int:
    return int(text)


@single_task(on_error="skip_item", retry_attempts=3, task_name="fetch page")
async def fetch(url: str) -> bytes:
    return url.encode()


@single_task
async def chunks(size: int) -> AsyncIterator[bytes]:
    yield b"x" * size


@single_task
def words(line: str) -> Iterator[str | None]:
    yield from line.split()


@single_task
def maybe(text: str) -> int | None:
    return int(text) if text.isdigit() else None


@single_task
def store(number: int) -> None:
    print(number)


@single_task
async def save(number: int) -> None:
    print(number)


@single_task
def lines(*, limit: int = 2) -> Iterator[str]:
    yield from ["a", "b"][:limit]


@batch_task(max_size=10)
async def tokenize(batch: list[str]) -> list[str]:
    return [w for line in batch for w in line.split()]


@batch_task
def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


@batch_task(max_wait=0.5)
def flush(batch: list[bytes]) -> None:
    print(len(batch))


@single_task
def scale(number: int, factor: float, *, label: str = "") -> float:
    return number * factor


@single_task
def parse_back(number: int) -> str:
    return str(number)


assert_type(parse, SingleTask[str, int, []])
assert_type(fetch, SingleTask[str, bytes, []])
assert_type(chunks, SingleTask[int, bytes, []])
assert_type(words, SingleTask[str, str, []])
assert_type(maybe, SingleTask[str, int, []])
assert_type(store, SingleTask[int, NoOutput, []])
assert_type(save, SingleTask[int, NoOutput, []])
assert_type(tokenize, BatchTask[str, str, []])
assert_type(mean, BatchTask[float, float, []])
assert_type(flush, BatchTask[bytes, NoOutput, []])
assert_type(lines(), Stream[str])

single_task(on_error="skip_batch")  # E (a single task skips items, not batches)
batch_task(max_size="ten")  # E
single_task(timeout="5")  # E
single_task(rate_limit=2.5)  # E (calls per second, (calls, per), or a RateLimiter)
single_task(rate_limit=(10, "1"))  # E


@single_task(timeout=2.5, rate_limit=RateLimiter(10, per=1.0, burst=2))
async def bounded(url: str) -> bytes:
    return url.encode()


@batch_task(max_size=10, timeout=1, rate_limit=(100, 60.0))
async def bulk(urls: list[str]) -> list[bytes]:
    return [url.encode() for url in urls]


assert_type(bounded, SingleTask[str, bytes, []])
assert_type(bulk, BatchTask[str, bytes, []])


# -- composition -----------------------------------------------------------------------------------

pipeline = parse | scale.with_inputs(factor=0.5) | scale.with_inputs(2.0)  # E (float into int)
ok = fetch | chunks  # E (bytes into int)
good = lines | tokenize | parse | store
assert_type(good, Pipeline[Never, NoOutput])
fan_out = tokenize | parse
assert_type(fan_out, Pipeline[str, int])
nested = (parse | scale.with_inputs(factor=1.0)) | (mean | mean)
assert_type(nested, Pipeline[str, float])
store | parse  # E (a sink has no output)
save | parse  # E (an async sink has no output either)
parse | lines  # E (a source can only start a pipeline)
parse | scale  # E (unbound side input 'factor')
scale | parse  # E (unbound side input 'factor')
added: Pipeline[str, float] = Pipeline().add(parse, scale.with_inputs(factor=2.0), mean)
Pipeline().add(parse, tokenize)  # E (int into str)

# -- branching steps -------------------------------------------------------------------------------


def is_even(number: int) -> bool:
    return number % 2 == 0


def is_int(value: int | str) -> TypeIs[int]:
    return isinstance(value, int)


@single_task
def either(value: int | str) -> str:
    return str(value)


fanned = parse | fan(scale.with_inputs(factor=2.0), chunks)
assert_type(fanned, Pipeline[str, float | bytes])
forked = words | fork(parse, fetch, tokenize)
assert_type(forked, Pipeline[str, tuple[int, bytes, str]])
six = fan(parse, parse, parse, parse, maybe, words)
assert_type(six, Pipeline[str, int | str])
teed = parse | tee(store, save)
assert_type(teed, Pipeline[str, int])
merged = merge(lines, lines | parse, [b"x"])
assert_type(merged, Pipeline[Never, str | int | bytes])
evens = parse | route(is_even, chunks)
assert_type(evens, Pipeline[str, bytes])
keyed = parse | route_by_key(is_even, {True: chunks}, default=chunks)
assert_type(keyed, Pipeline[str, bytes])
typed = route_by_type((int, chunks), (str, words))
assert_type(typed, Pipeline[int | str, bytes | str])
fan(parse)  # E (a fan needs two branches)
parse | fan(chunks, words)  # E (int into str)
parse | route(is_even, words)  # E (int into str)
words | route(is_even, words)  # E (the predicate takes int)
fork(parse, maybe) | parse  # E (a tuple into str)
narrowing = route(is_int, chunks, either)
assert_type(narrowing, Pipeline[int | str, bytes | str])
parse | route(is_int, words)  # E (int into str)
with_a_lambda = parse | route(lambda number: number > 2, chunks, chunks)
assert_type(with_a_lambda, Pipeline[str, bytes])

# -- variance ----------------------------------------------------------------------------------------

floats = parse | scale.with_inputs(factor=1.0)
wider_output: Pipeline[str, object] = floats  # output is covariant
narrower_input: Pipeline[bool, float] = Pipeline().add(mean)  # input is contravariant
wider_input: Pipeline[object, float] = floats  # E (it takes str only)
narrower_output: Pipeline[str, int] = floats  # E (it emits float)

# -- side inputs -------------------------------------------------------------------------------------

scale.with_inputs(factr=2.0)  # E (no such side input)
scale.with_inputs(factor="2")  # E (not a float)
scale.with_inputs(2.0, "x")  # E (label is keyword-only)
scale.with_inputs(2.0, label="x")


async def load_factor() -> float:
    return 2.0


@single_task
def keep(number: int, allowed: list[int]) -> int | None:
    return number if number in allowed else None


@single_task
def numbers() -> Iterator[int]:
    yield 1


assert_type(side(load_factor()), float)
assert_type(side(numbers), int)
assert_type(side(numbers | parse_back), str)
assert_type(side(numbers()), int)
assert_type(numbers.as_list(), list[int])
assert_type((numbers | parse_back).as_single(), str)
assert_type(numbers().as_list(), list[int])
scale.with_inputs(factor=side(load_factor()))
keep.with_inputs(allowed=numbers.as_list())
scale.with_inputs(factor=side(lines))  # E (str items, not float)
keep.with_inputs(allowed=numbers.as_single())  # E (one int, not a list)
side(parse)  # E (parse needs input data: not a source)
parse.as_list()  # E (parse needs input data: not a source)
side(42)  # E (not an awaitable, a source or a stream)


# -- running ----------------------------------------------------------------------------------------


async def run() -> None:
    assert_type(parse(["1"]), Stream[int])
    assert_type(await parse(["1"]).collect(), list[int])
    assert_type(await (parse | scale.with_inputs(factor=2.0)).as_completed(["1"]).collect(), list[float])
    async for item in tokenize(["a b"]):
        assert_type(item, str)
    parse([1])  # E (int items into a str task)
    scale([1])  # E (unbound side input 'factor')
    parse(["1"], max_in_flight=None, check_items="all")
    parse(["1"], max_in_flite=3)  # E (no such run option)
    parse()  # E (parse takes items: data is required)
    parse.as_completed()  # E (likewise)
    assert_type(lines(), Stream[str])
    assert_type(lines.as_completed(max_in_flight=2), Stream[str])
    assert_type((lines | tokenize)(), Stream[str])
    lines(["a"])  # E (a source produces its own items)
    (lines | tokenize)(["a"])  # E (likewise)
    (parse | parse_back)()  # E (a pipeline that takes items needs data)
    (parse | parse_back).as_completed(progress=True)  # E (likewise)


# -- methods -----------------------------------------------------------------------------------------


class Repo:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    @single_task
    def tag(self, text: str, suffix: str = "") -> str:
        return self.prefix + text + suffix

    @batch_task(max_size=3)
    async def save(self, rows: list[int]) -> list[str]:
        return [f"{self.prefix}{row}" for row in rows]

    @single_task
    def ids(self) -> Iterator[int]:
        yield 1


repo = Repo("#")
assert_type(repo.save, BatchTask[int, str, []])
method_pipeline = repo.ids | repo.save | repo.tag
assert_type(method_pipeline, Pipeline[Never, str])
repo.tag | repo.save  # E (str into int)
assert_type(repo.ids(), Stream[int])
assert_type(repo.ids.as_list(), list[int])
repo.tag()  # E (a method task that takes items needs data)
