# pyright: basic
"""Gradual typing: an unannotated stage (input and output Any) fits anything, both ways.
(The only deliberately unannotated function of the corpus; strict checkers are told so.)"""

from conveyor import single_task


@single_task
def need_int(number: int) -> int:
    return number


@single_task
def untyped(value):  # type: ignore[no-untyped-def]
    return value


@single_task
def label(number: int) -> str:
    return str(number)


pipeline = label | untyped | need_int
