"""Which outputs belong to which input item, inside an ordered branch.

An ordered fan, fork or route hands each input item's outputs on together, so its
branches must say where one item's outputs end. They do it in the stream itself,
at no cost for the common case of one output per item:

- a plain output is the *last* output of its input item;
- ``Leading(output)`` is an output with more of the same item's outputs after it;
- ``NOTHING`` stands for an input item that gave no output at all.

A branch of one-to-one stages therefore carries no marker: every output is plain.
A stage keeps the encoding by how it hands on a call's outputs (``encoded``); a
batch, whose items may belong to several input items, marks where each item ended
while it filled (``MarkedBatch``) and places its outputs by those marks.
"""

from __future__ import annotations

from typing import Any, Final

from conveyor.runtime.inputs import Marker

__all__ = ["BOUNDARY", "Leading", "NOTHING", "encoded", "encode_placed", "encode_group"]

#: Where one input item's outputs end, in a batch's placed outputs and inside a
#: branching step's outlet; never in the stream between two stages.
BOUNDARY: Final[Any] = Marker("BOUNDARY")
#: An input item that gave no output (filtered, skipped, or a sink's call).
NOTHING: Final[Any] = Marker("NOTHING")


class Leading:
    """An output that is not the last of its input item's outputs."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"Leading({self.value!r})"


def encode_group(outputs: list[Any]) -> list[Any]:
    """All the outputs of one input item, ready to be handed on."""
    if len(outputs) == 1:
        return outputs
    if not outputs:
        return [NOTHING]
    last = len(outputs) - 1
    return [Leading(output) for output in outputs[:last]] + [outputs[last]]


def encoded(outputs: list[Any], leading: bool) -> list[Any]:
    """One call's outputs: the whole of its item's outputs, or (``leading``: the item
    itself was not the last of its own input item's) only some of them."""
    if leading:
        return [Leading(output) for output in outputs]
    return encode_group(outputs)


def encode_placed(placed: list[Any]) -> list[Any]:
    """A batch's outputs with a BOUNDARY where each input item's outputs end (see
    ``MarkedBatch.place``); what follows the last BOUNDARY belongs to an input item
    whose later outputs come in a later call."""
    result: list[Any] = []
    group: list[Any] = []
    for output in placed:
        if output is BOUNDARY:
            result += encode_group(group)
            group = []
        else:
            group.append(output)
    result += [Leading(output) for output in group]
    return result
