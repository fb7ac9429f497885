"""Pipeline().add(...) checks its stages like |."""

from conveyor import Pipeline, single_task

PRODUCER = "parse"
CONSUMER = "shout"


@single_task
def parse(text: str) -> int:
    return int(text)


@single_task
def shout(text: str) -> str:
    return text.upper()


pipeline = Pipeline().add(parse, shout)  # E: pipeline-mismatch
