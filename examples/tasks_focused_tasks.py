"""Small tasks with one job each, chained with `|`.

`validate_email` only validates and `send_notification` only sends (to a fake
email service that keeps an outbox). Because the check is a plain function, it
can also back a second, lenient task that skips bad addresses instead of
stopping the run.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from conveyor import Pipeline, single_task


@dataclass
class FakeEmailService:
    outbox: list[str] = field(default_factory=list)

    async def send(self, address: str) -> bool:
        await asyncio.sleep(0.01)
        self.outbox.append(address)
        return True


email_service = FakeEmailService()


def check_email(email: str) -> str:
    if "@" not in email:
        raise ValueError(f"invalid email: {email!r}")
    return email.strip().lower()


validate_email = single_task(task_name="validate_email")(check_email)  # strict: a bad address stops the run
lenient_validate_email = single_task(on_error="skip_item", task_name="lenient_validate_email")(check_email)


@single_task
async def send_notification(email: str) -> bool:
    return await email_service.send(email)


@dataclass(frozen=True)
class Outcome:
    sent: list[bool]
    outbox: list[str]
    strict_error: str


async def main() -> Outcome:
    email_service.outbox.clear()
    addresses = ["Ada@example.org", "not-an-email", "grace@example.org"]

    strict: Pipeline[str, bool] = validate_email | send_notification
    try:
        await strict(addresses).collect()
        strict_error = "none"
    except ValueError as exc:
        strict_error = str(exc)

    email_service.outbox.clear()  # only the lenient run's mail is of interest below
    lenient = Pipeline().add(lenient_validate_email, send_notification)
    sent = await lenient(addresses).collect()
    return Outcome(sent, sorted(email_service.outbox), strict_error)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="  [log] %(message)s")
    outcome = asyncio.run(main())
    print("strict pipeline stopped with:", outcome.strict_error)
    print("lenient pipeline sent:", outcome.sent)
    print("outbox:", outcome.outbox)
