"""A blocking HTTP client in threads: `executor="thread"` keeps the event loop free.

The example starts its own small HTTP server on 127.0.0.1 (a thread running
`http.server`, answering after a short delay like a slow API), then fetches 40 pages
with `urllib.request`, a plain blocking client. Inline, the 40 calls would run one
after the other on the event-loop thread; in 8 worker threads they overlap.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from conveyor import single_task

DELAY = 0.05  # seconds the server takes per request


class SlowAPI(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        time.sleep(DELAY)
        user = int(self.path.rsplit("/", 1)[-1])
        body = json.dumps({"id": user, "name": f"user-{user}"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass


@contextmanager
def local_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowAPI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@single_task(executor="thread", concurrency_limit=8, retry_attempts=3, retry_delay=0.1)
def fetch_user(user_id: int, base_url: str) -> dict[str, object]:
    """A plain blocking call, as with `requests.get`: it runs in one of 8 threads."""
    with urllib.request.urlopen(f"{base_url}/users/{user_id}", timeout=10) as response:
        data: dict[str, object] = json.load(response)
        return data


@single_task
def greeting(user: dict[str, object]) -> str:
    return f"hello {user['name']}"


@dataclass
class Report:
    greetings: list[str]
    seconds: float


async def main() -> Report:
    with local_server() as base_url:
        pipeline = fetch_user.with_inputs(base_url=base_url) | greeting
        started = time.perf_counter()
        greetings = await pipeline(range(40)).collect()
        seconds = time.perf_counter() - started
    print(f"{len(greetings)} users fetched in {seconds:.2f}s "
          f"(one after the other: at least {40 * DELAY:.1f}s); first: {greetings[0]!r}")
    return Report(greetings, seconds)


if __name__ == "__main__":
    asyncio.run(main())
