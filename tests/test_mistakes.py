"""Mistakes users make, and the error each one gets (issues 13 and 15).

One table: each row is the code that makes the mistake, the exception type it must
raise and words its message must contain (the task or pipeline it concerns, and what
to do). A row may also check something afterwards (say, that a coroutine the mistake
left behind was closed, so no "never awaited" warning follows). Behaviour that is not
an error (a static method task runs, ``await stream`` collects) is tested after it.
"""

from __future__ import annotations

import asyncio
import inspect
import math
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from conveyor import ErrorHandler, ItemTypeError, Pipeline, RetryPolicy, batch_task, single_task

# -- tasks the rows use --------------------------------------------------------------------


@single_task
def double(n: int) -> int:
    return n * 2


@single_task
async def use(x: int, cfg: Any) -> int:
    return x


@single_task
def scale_by(n: int, factor: int) -> int:
    return n * factor


@single_task
async def numbers() -> AsyncIterator[int]:
    yield 1


class Scaler:
    def __init__(self, factor: int = 2) -> None:
        self.factor = factor

    @single_task
    def scale(self, n: int) -> int:
        return n * self.factor

    @single_task
    @staticmethod
    def negate(n: int) -> int:
        return -n


# Coroutines a row makes: it checks afterwards that conveyor closed every one.
made: list[Coroutine[Any, Any, Any]] = []


async def fetch(n: int) -> int:
    return n


def fetch_later(n: int) -> Coroutine[Any, Any, int]:
    coroutine = fetch(n)
    made.append(coroutine)
    return coroutine


def all_closed() -> None:
    assert made, "the row made no coroutine"
    assert all(inspect.getcoroutinestate(c) == inspect.CORO_CLOSED for c in made)


# -- the table -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Mistake:
    id: str
    code: Callable[[], Any]  # may return an awaitable: it is awaited (with a generous bound)
    error: type[BaseException]
    words: tuple[str, ...]
    absent: tuple[str, ...] = ()  # words the message must not contain (a wrong hint, a wrong blame)
    then: Callable[[], None] | None = field(default=None)


def row(id: str, code: Callable[[], Any], error: type[BaseException], *words: str, **more: Any) -> Any:
    return pytest.param(Mistake(id, code, error, words, **more), id=id)


def decorate(decorator: Any, **options: Any) -> Callable[[], Any]:
    """Code that decorates a fresh function with ``options``."""

    def code() -> Any:
        def f(n: int) -> int:
            return n

        def fb(items: list[int]) -> list[int]:
            return items

        return decorator(**options)(fb if decorator is batch_task else f)

    return code


def forgot_await_sync() -> Any:
    @single_task
    def lookup(n: int) -> Any:
        return fetch_later(n)  # a sync function handing back a coroutine

    return lookup([1, 2]).collect()


def forgot_await_async() -> Any:
    @single_task
    async def lookup(n: int) -> Any:
        return fetch_later(n)  # an async def returning a coroutine it did not await

    return lookup([1]).collect()


def forgot_await_batch() -> Any:
    @batch_task(max_size=3)
    async def lookup_all(items: list[int]) -> list[Any]:
        return [fetch_later(n) for n in items]

    return lookup_all([1, 2, 3]).collect()


def forgot_await_generator() -> Any:
    @single_task
    def spread(n: int) -> Iterator[Any]:
        yield fetch_later(n)

    return spread([1]).collect()


def forgot_await_source() -> Any:
    @single_task
    async def rows() -> AsyncIterator[Any]:
        yield fetch_later(1)  # a source generator yielding the coroutine, not its value

    return rows().collect()


def coroutine_as_data() -> Any:
    async def fetch_rows() -> list[int]:
        return [1, 2]

    return double(made_here(fetch_rows()))  # type: ignore[arg-type]


def made_here(coroutine: Coroutine[Any, Any, Any]) -> Coroutine[Any, Any, Any]:
    made.append(coroutine)
    return coroutine


def cycle_through_awaitable() -> Any:
    async def load_cfg() -> int:
        return len(await pipeline([1]).collect())

    pipeline = Pipeline.of(use.with_inputs(cfg=load_cfg()))
    return pipeline([1, 2]).collect()


def cycle_through_source_pipeline() -> Any:
    @single_task
    async def cfg_source() -> AsyncIterator[int]:
        for x in await pipeline([1]).collect():
            yield x

    pipeline = Pipeline.of(use.with_inputs(cfg=cfg_source))
    return pipeline([1, 2]).collect()


def cycle_through_stream() -> Any:
    async def feed() -> AsyncIterator[int]:
        async for x in pipeline([1]):
            yield x

    pipeline = Pipeline.of(use.with_inputs(cfg=double(feed())))
    return pipeline([1, 2]).collect()


def keyword_only_item() -> Any:
    @single_task
    def parse(*, text: str) -> int:
        return int(text)

    return parse(["1"])


def batch_of_int() -> Any:
    @batch_task
    def total(items: int) -> int:
        return items

    return total


def classmethod_task() -> Any:
    class Factory:
        @single_task  # type: ignore[misc]
        @classmethod
        def build(cls, n: int) -> int:
            return n

    return Factory


class SyncHandler:
    def handle_error(self, error: Exception, item: Any, task_name: str, attempt: int) -> tuple[bool, Any]:
        return True, None


def iterate_stream() -> Any:
    return [x for x in double([1])]  # type: ignore[attr-defined]


async def consumed_stream_as_side_input() -> Any:
    stream = double([1])
    await stream.collect()
    return await Pipeline.of(use.with_inputs(cfg=stream))([1]).collect()


SINGLE_AND_BATCH = [(single_task, "single"), (batch_task, "batch")]

# Every option both decorators share: (option, bad value, exception, words).
SHARED_OPTIONS: list[tuple[str, Any, type[Exception], str]] = [
    ("on_error", None, TypeError, "on_error must be one of"),
    ("on_error", "ignore", ValueError, "not a known error policy"),
    ("retry_attempts", "3", TypeError, "retry_attempts must be an int"),
    ("retry_attempts", True, TypeError, "retry_attempts must be an int"),
    ("retry_attempts", 2.0, TypeError, "retry_attempts must be an int"),
    ("retry_attempts", 0, ValueError, "retry_attempts must be at least 1"),
    ("retry_delay", "1", TypeError, "retry_delay must be a number of seconds"),
    ("retry_delay", float, TypeError, "got the type float"),
    ("retry_delay", True, TypeError, "retry_delay must be a number of seconds"),
    ("retry_delay", -1, ValueError, "retry_delay must be a finite number"),
    ("retry_delay", math.nan, ValueError, "retry_delay must be a finite number"),
    ("retry_delay", math.inf, ValueError, "retry_delay must be a finite number"),
    ("retry_exponential_backoff", "no", TypeError, "retry_exponential_backoff must be True or False"),
    ("retry_exponential_backoff", 0, TypeError, "retry_exponential_backoff must be True or False"),
    ("retry_max_delay", "60", TypeError, "retry_max_delay must be a number of seconds"),
    ("retry_max_delay", math.inf, ValueError, "retry_max_delay must be a finite number"),
    ("retry_max_delay", math.nan, ValueError, "retry_max_delay must be a finite number"),
    ("retry_max_delay", -0.5, ValueError, "retry_max_delay must be a finite number"),
    ("error_handler", ErrorHandler, TypeError, "write error_handler=ErrorHandler()"),
    ("error_handler", SyncHandler(), TypeError, "async def handle_error"),
    ("error_handler", "log", TypeError, "must have an async handle_error method"),
    ("task_name", 3, TypeError, "task_name must be a str or None"),
    ("task_name", "", ValueError, "task_name must not be empty"),
    ("concurrency_limit", "2", TypeError, "concurrency_limit must be an int or None"),
    ("concurrency_limit", True, TypeError, "concurrency_limit must be an int or None"),
    ("concurrency_limit", 1.5, TypeError, "concurrency_limit must be an int or None"),
    ("concurrency_limit", 0, ValueError, "concurrency_limit must be at least 1"),
]

BATCH_OPTIONS: list[tuple[dict[str, Any], type[Exception], str]] = [
    ({"on_error": "skip_item"}, ValueError, "does not apply to a batch task"),
    ({"min_size": "2"}, TypeError, "min_size must be an int"),
    ({"min_size": True}, TypeError, "min_size must be an int"),
    ({"min_size": 0}, ValueError, "min_size must be at least 1"),
    ({"max_size": "10"}, TypeError, "max_size must be an int or None"),
    ({"max_size": 10.0}, TypeError, "max_size must be an int or None"),
    ({"max_size": 0}, ValueError, "max_size must be at least 1"),
    ({"min_size": 5, "max_size": 2}, ValueError, "max_size=2 is smaller than min_size=5"),
    ({"max_wait": "1"}, TypeError, "max_wait must be a number of seconds"),
    ({"max_wait": True}, TypeError, "max_wait must be a number of seconds"),
    ({"max_wait": 0}, ValueError, "max_wait must be a finite number of seconds > 0"),
    ({"max_wait": -1}, ValueError, "max_wait must be a finite number of seconds > 0"),
    ({"max_wait": math.inf}, ValueError, "max_wait must be a finite number of seconds > 0"),
    ({"max_wait": math.nan}, ValueError, "max_wait must be a finite number of seconds > 0"),
]

# The run options of a pipeline call, tried through both ways of calling it.
RUN_OPTIONS: list[tuple[dict[str, Any], type[Exception], str]] = [
    ({"max_in_flight": "10"}, TypeError, "max_in_flight must be an int or None"),
    ({"max_in_flight": True}, TypeError, "max_in_flight must be an int or None"),
    ({"max_in_flight": 1.5}, TypeError, "max_in_flight must be an int or None"),
    ({"max_in_flight": 0}, ValueError, "max_in_flight must be at least 1"),
    ({"check_items": 1}, TypeError, "check_items must be one of"),
    ({"check_items": "every"}, ValueError, "check_items='every' is not one of"),
    ({"progress": "yes"}, TypeError, "progress must be True or False"),
    ({"progress": 1}, TypeError, "progress must be True or False"),
]

MISTAKES = [
    # -- issue 15: bad input accepted silently -------------------------------------------------
    row("sync function returns a coroutine", forgot_await_sync, ItemTypeError,
        "task 'lookup' returned <coroutine", "did you forget to await?", "make the function async def",
        then=all_closed),
    row("async def returns a coroutine", forgot_await_async, ItemTypeError,
        "task 'lookup' returned <coroutine", "did you forget to await?", "return await", then=all_closed),
    row("batch task returns a list of coroutines", forgot_await_batch, ItemTypeError,
        "task 'lookup_all'", "did you forget to await?", then=all_closed),
    row("generator yields a coroutine", forgot_await_generator, ItemTypeError,
        "task 'spread' yielded <coroutine", "did you forget to await?", then=all_closed),
    row("source generator yields a coroutine", forgot_await_source, ItemTypeError,
        "task 'rows' yielded <coroutine", "did you forget to await?", then=all_closed),
    row("retry_delay=nan", decorate(single_task, retry_delay=math.nan), ValueError,
        "task 'f'", "retry_delay", "finite"),
    row("retry_delay=inf without backoff", decorate(single_task, retry_delay=math.inf, retry_exponential_backoff=False),
        ValueError, "task 'f'", "retry_delay", "finite"),
    row("RetryPolicy(max_delay=inf)", lambda: RetryPolicy(max_delay=math.inf), ValueError,
        "RetryPolicy", "max_delay", "finite"),
    row("side input awaits the pipeline it feeds", cycle_through_awaitable, RuntimeError,
        "side input 'cfg'", "task 'use'", "depends on itself"),
    row("side input is a source pipeline that runs the pipeline it feeds", cycle_through_source_pipeline,
        RuntimeError, "side input 'cfg'", "task 'use'", "depends on itself"),
    row("side input is a stream of the pipeline it feeds", cycle_through_stream, RuntimeError,
        "side input 'cfg'", "task 'use'", "depends on itself"),
    row("check_items='all' finds a bad input item", lambda: double([1, 2, "11"], check_items="all").collect(),  # type: ignore[list-item]
        ItemTypeError, "input item #3 of the pipeline's data", "'11' is not int", "'double'",
        absent=("produced",)),
    row("check_items='sample' checks the first input items too",
        lambda: double(["1"], check_items="sample").collect(),  # type: ignore[list-item]
        ItemTypeError, "input item #1", "'1' is not int"),
    row("method task read from its class", lambda: Scaler.scale([1]), TypeError,  # type: ignore[call-arg]
        "task 'scale' is a method of Scaler", "needs an instance", "Scaler(...).scale(...)"),
    row("method task read from its class, piped", lambda: double | Scaler.scale, TypeError,  # type: ignore[operator]
        "needs an instance"),
    row("decorated twice", lambda: single_task(double), TypeError,  # type: ignore[call-overload]
        "'double' is already a task", "decorate the function only once"),
    row("decorated twice, batch over single", lambda: batch_task(double), TypeError,  # type: ignore[call-overload]
        "'double' is already a task"),
    row("a task name given positionally", lambda: single_task("parse"), TypeError,  # type: ignore[call-overload]
        "task_name='parse'", absent=("max_size",)),
    row("a non-function given to @single_task", lambda: single_task(3), TypeError,  # type: ignore[call-overload]
        "@single_task decorates a function", "retry_attempts=3", absent=("max_size",)),
    row("keyword-only item parameter", keyword_only_item, TypeError,
        "task 'parse'", "'text'", "make it positional"),
    row("with_inputs names the item parameter", lambda: double.with_inputs(n=1), TypeError,  # type: ignore[call-arg]
        "task 'double'", "'n' is its item parameter"),
    row("task | lambda", lambda: double | (lambda n: n), TypeError,  # type: ignore[operator]
        "<lambda>", "'double'", "@single_task or @batch_task"),
    row("print | task", lambda: print | double, TypeError,  # type: ignore[operator]
        "print", "'double'", "@single_task or @batch_task"),
    row("pipeline | function", lambda: (double | double) | len, TypeError,  # type: ignore[operator]
        "len", "double | double", "@single_task or @batch_task"),
    row("Pipeline().add(function)", lambda: Pipeline().add(len), TypeError,  # type: ignore[call-overload]
        "len", "@single_task or @batch_task"),
    row("a coroutine as data", coroutine_as_data, TypeError,
        "pipeline 'double'", "did you forget to await?", then=all_closed),
    # -- issue 13: run-time errors that teach ---------------------------------------------------
    row("for x in stream", iterate_stream, TypeError, "<Stream of double", "async for", "await stream.collect()"),
    row("batch item parameter is not a list", batch_of_int, TypeError,
        "batch task 'total'", "list[T]", "not int", absent=("<class",)),
    row("a sync handle_error", decorate(single_task, error_handler=SyncHandler()), TypeError,
        "task 'f'", "SyncHandler.handle_error must be a coroutine function"),
    row("an option only batch tasks have", decorate(single_task, max_size=10), TypeError,
        "@single_task has no option 'max_size'", "it is a @batch_task option"),
    row("a misspelt option", decorate(batch_task, maxsize=10), TypeError,
        "@batch_task has no option 'maxsize'", "did you mean 'max_size'?"),
    row("a task over @classmethod", classmethod_task, TypeError, "'build'", "cannot be a classmethod", "@staticmethod"),
    *(
        row(f"{kind}: {option}={bad!r}", decorate(decorator, **{option: bad}), error, f"task 'f{'b' * (kind == 'batch')}'", words)
        for decorator, kind in SINGLE_AND_BATCH
        for option, bad, error, words in SHARED_OPTIONS
    ),
    row("single: on_error='skip_batch'", decorate(single_task, on_error="skip_batch"), ValueError,
        "task 'f'", "use 'skip_item'"),
    *(
        row(f"batch: {options}", decorate(batch_task, **options), error, "task 'fb'", words)
        for options, error, words in BATCH_OPTIONS
    ),
    row("with_inputs: too many positional values", lambda: use.with_inputs(1, 2), TypeError,  # type: ignore[call-arg]
        "task 'use' takes 1 side input(s)"),
    row("with_inputs: a value given twice", lambda: use.with_inputs(1, cfg=2), TypeError,  # type: ignore[call-arg]
        "task 'use'", "'cfg' given twice"),
    row("with_inputs: a misspelt name", lambda: use.with_inputs(cgf=1), TypeError,  # type: ignore[call-arg]
        "task 'use'", "did you mean 'cfg'?"),
    row("with_inputs: a value of the wrong type", lambda: scale_by.with_inputs(factor="2"), TypeError,  # type: ignore[arg-type]
        "task 'scale_by'", "side input 'factor' expects int"),
    row("with_inputs on a method read from its class", lambda: Scaler.scale.with_inputs(2), TypeError,  # type: ignore[call-arg]
        "needs an instance"),
    row("pipeline: a str as data", lambda: double("123"), TypeError,  # type: ignore[arg-type]
        "pipeline 'double'", "wrap it: [data]"),
    row("pipeline: a number as data", lambda: double(3), TypeError,  # type: ignore[arg-type]
        "pipeline 'double'", "iterable or async iterable of items"),
    row("pipeline: no data", lambda: double(), TypeError, "'double' expects input data"),
    row("pipeline: data for a source", lambda: numbers([1]), TypeError,  # type: ignore[arg-type]
        "task 'numbers' is a source", "without data"),
    row("pipeline: typecheck mode not a str", lambda: Pipeline([double], typecheck=1), TypeError,  # type: ignore[arg-type]
        "typecheck must be one of"),
    row("pipeline: unknown typecheck mode", lambda: Pipeline([double], typecheck="loose"), ValueError,  # type: ignore[arg-type]
        "'loose' is not a type-check mode"),
    *(
        row(f"{call}: {options}", (lambda c=call, o=options: getattr(double, c)([1], **o)), error, "pipeline 'double'", words)
        for call in ("__call__", "as_completed")
        for options, error, words in RUN_OPTIONS
    ),
    row("stream: consumed, then used as a side input", consumed_stream_as_side_input, RuntimeError,
        "already (partly) consumed", "pass the pipeline itself"),
]


@pytest.mark.parametrize("mistake", MISTAKES)
async def test_mistake_gets_a_clear_error(mistake: Mistake) -> None:
    made.clear()
    with pytest.raises(mistake.error) as info:
        result = mistake.code()
        if inspect.isawaitable(result):
            await asyncio.wait_for(result, 30)  # a deadlock fails the row instead of hanging
    message = str(info.value)
    for words in mistake.words:
        assert words in message
    for words in mistake.absent:
        assert words not in message
    if mistake.then is not None:
        mistake.then()


# -- what is not an error ------------------------------------------------------------------


async def test_a_forgotten_await_is_a_failure_of_that_call_so_on_error_applies() -> None:
    made.clear()

    @single_task(on_error="skip_item")
    def lookup(n: int) -> Any:
        return fetch_later(n) if n == 2 else n

    assert await lookup([1, 2, 3]).collect() == [1, 3]
    all_closed()


async def test_plain_objects_are_items_and_awaitables_of_other_kinds_are_caught() -> None:
    class Box:
        pass

    box = Box()

    @single_task
    def keep(n: int) -> Any:
        return box

    assert await keep([1]).collect() == [box]

    @single_task
    async def future_of(n: int) -> Any:
        return asyncio.get_running_loop().create_future()

    with pytest.raises(ItemTypeError, match="returned <Future pending> where an item was expected"):
        await future_of([1]).collect()


def test_retry_max_delay_caps_every_wait() -> None:
    fixed = RetryPolicy(attempts=3, delay=30.0, exponential_backoff=False, max_delay=2.0)
    growing = RetryPolicy(attempts=9, delay=1.0, exponential_backoff=True, max_delay=5.0)
    assert [fixed.delay_after(n) for n in (1, 2)] == [2.0, 2.0]
    assert [growing.delay_after(n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 5.0]


async def test_a_long_fixed_delay_is_capped_in_a_run() -> None:
    calls = 0

    @single_task(retry_attempts=2, retry_delay=3600.0, retry_exponential_backoff=False, retry_max_delay=0.01)
    def flaky(n: int) -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("once")
        return n

    assert await asyncio.wait_for(flaky([7]).collect(), 30) == [7]  # not an hour


async def test_a_static_method_task_just_works() -> None:
    assert await Scaler().negate([1, 2]).collect() == [-1, -2]
    assert await Scaler.negate([3]).collect() == [-3]
    assert await Scaler(10).scale([1]).collect() == [10]


async def test_a_task_stored_on_a_class_is_not_a_method() -> None:
    class Steps:
        first = double

    assert await (Steps.first | double)([1]).collect() == [4]


async def test_await_stream_collects() -> None:
    assert await double([1, 2]) == [2, 4]
    assert await double.as_completed([3]) == [6]


def test_asyncio_run_needs_the_collect_coroutine() -> None:
    assert asyncio.run(double([1, 2]).collect()) == [2, 4]
    with pytest.raises(ValueError, match="a coroutine was expected"):  # the stdlib's check
        asyncio.run(double([1]))  # type: ignore[arg-type]


async def test_a_bad_input_item_fails_the_run_even_when_the_first_task_skips() -> None:
    @single_task(on_error="skip_item")
    def parse(n: int) -> int:
        return n

    with pytest.raises(ItemTypeError, match="input item #2"):
        await parse([1, "2"], check_items="all").collect()  # type: ignore[list-item]
    assert await parse([1, "2"]).collect() == [1, "2"]  # checks off: nothing is looked at


async def test_a_task_a_side_input_left_running_may_run_that_pipeline_later() -> None:
    gate = asyncio.Event()
    later: list[list[int]] = []
    left_running: list[asyncio.Task[None]] = []

    async def load_cfg() -> int:
        async def afterwards() -> None:
            await gate.wait()
            later.append(await pipeline([5]).collect())

        left_running.append(asyncio.create_task(afterwards()))  # it inherits the resolving context
        return 1

    pipeline = Pipeline.of(use.with_inputs(cfg=load_cfg()))
    assert await pipeline([1]).collect() == [1]
    gate.set()  # the side input is resolved by now: no cycle
    await asyncio.wait_for(left_running[0], 30)
    assert later == [[5]]


async def test_an_async_mock_is_a_fine_error_handler() -> None:
    from unittest.mock import AsyncMock, Mock

    handler = Mock(spec=["handle_error"], handle_error=AsyncMock(return_value=(True, None)))

    @single_task(error_handler=handler)
    def fails(n: int) -> int:
        raise ValueError(n)

    assert await fails([1]).collect() == []
    handler.handle_error.assert_awaited_once()
