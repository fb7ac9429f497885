"""Fixed-length tuples must match in length: tuple[int, int, int] does not fit tuple[int, int]."""

from conveyor import single_task

PRODUCER = "rgb"
CONSUMER = "point"


@single_task
def rgb(name: str) -> tuple[int, int, int]:
    return (len(name), 0, 0)


@single_task
def point(xy: tuple[int, int]) -> str:
    return f"{xy[0]},{xy[1]}"


pipeline = rgb | point  # E: pipeline-mismatch
