"""Side inputs are not the item: the str side input 'label' must not make str items fit int."""

from conveyor import single_task

PRODUCER = "name"
CONSUMER = "scale"


@single_task
def name(number: int) -> str:
    return f"n{number}"


@single_task
def scale(number: int, label: str, factor: float = 1.0) -> str:
    return f"{label}{number * factor}"


pipeline = name | scale.with_inputs(label="x")  # E: pipeline-mismatch
