"""The stage type rules of ``conveyor.stage_types`` (and the side-input rule of
``conveyor.signature``), as the names of the types they match in mypy's terms.

ONE rule set: the runtime uses conveyor/stage_types.py, the plugin mirrors it here,
and tests/test_static_rules.py holds the two together (same tables, same stage types
for every task of the corpus). Pure data: no import of mypy or of conveyor, so both
the plugin (inside mypy) and the tests can read it.

The rules, in the runtime's order (see ``stage_types._output_type``):

1. a sync function annotated ``-> Awaitable[R]`` / ``Coroutine[..., R]`` emits R
   (an ``async def`` already names the awaited type);
2. a generator (sync or async) emits its element type, without None;
3. ``-> None`` is a sink: nothing flows out;
4. otherwise ``R | None`` emits R (None is dropped) and a batch task's ``list[R]``
   fans out as R (its None elements dropped too).
Input: the first positional parameter's type; a batch task's is the T of list[T]
and friends. Every other parameter is a side input.
"""

from __future__ import annotations

from typing import Final

#: Return types whose element a generator function emits (``stage_types._ITERATORS``).
ITERATORS: Final = frozenset(
    {
        "typing.Iterator",
        "typing.Iterable",
        "typing.Generator",
        "typing.AsyncIterator",
        "typing.AsyncIterable",
        "typing.AsyncGenerator",
    }
)
#: A sync function returning one of these emits the awaited type (``stage_types._AWAITABLES``).
AWAITABLES: Final = frozenset({"typing.Awaitable", "typing.Coroutine"})
#: The batch parameter's annotations; the element is the input (``stage_types._LIST_LIKE``).
BATCH_INPUTS: Final = frozenset(
    {"builtins.list", "typing.Sequence", "typing.MutableSequence", "typing.Iterable", "typing.Collection"}
)
#: A batch task returning this fans its elements out (``stage_types._list_element``).
FANS_OUT: Final = "builtins.list"
#: Side-input annotations that take ALL items of a pipeline or stream
#: (``signature._SEQUENCE_ORIGINS``); any other annotation takes exactly one item.
ALL_ITEMS: Final = frozenset(
    {
        "builtins.list",
        "builtins.tuple",
        "typing.Sequence",
        "typing.MutableSequence",
        "typing.Iterable",
        "typing.Collection",
    }
)
