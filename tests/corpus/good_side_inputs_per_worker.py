"""``per_worker(factory)`` is typed as what the factory makes, in every checker: a
``Callable[[], Model]`` fits ``model: Model`` (and a base class or a protocol of it)."""

from functools import partial

from conveyor import per_worker, single_task


class Model:
    def predict(self, text: str) -> int:
        return len(text)


class Client:
    def __init__(self, base: str) -> None:
        self.base = base

    def close(self) -> None:
        pass


def load_model() -> Model:
    return Model()


@single_task
def score(text: str, model: Model) -> int:
    return model.predict(text)


@single_task
def fetch(path: str, client: Client) -> str:
    return client.base + path


@single_task
def describe(number: int, anything: object) -> str:
    return f"{number} {anything!r}"


scored = score.with_inputs(model=per_worker(load_model))
by_class = score.with_inputs(model=per_worker(Model))
with_arguments = fetch.with_inputs(client=per_worker(partial(Client, "https://example.org")))
piped = fetch.with_inputs(client=per_worker(lambda: Client("/"))) | score.with_inputs(model=per_worker(load_model))
widened = score.with_inputs(model=per_worker(load_model)) | describe.with_inputs(anything=per_worker(load_model))
