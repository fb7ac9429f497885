"""``per_worker(factory)`` is typed as what the factory makes: a factory of ``str``
does not fit ``model: Model`` (the factory's return annotation is checked at
composition too)."""

from conveyor import per_worker, single_task

CONSUMER = "score"
PARAMETER = "model"


class Model:
    def predict(self, text: str) -> int:
        return len(text)


def load_name() -> str:
    return "model.bin"


@single_task
def score(text: str, model: Model) -> int:
    return model.predict(text)


scored = score.with_inputs(model=per_worker(load_name))  # E: side-input
