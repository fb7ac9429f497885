"""Plain sync functions: str -> int -> int -> str."""

from conveyor import single_task


@single_task
def parse(text: str) -> int:
    return int(text)


@single_task
def double(number: int) -> int:
    return number * 2


@single_task
def show(number: int) -> str:
    return f"<{number}>"


pipeline = parse | double | show
