"""A loopback proxy in front of the localstripe fake that can hold chosen Stripe calls.

Tests point `STRIPE_API_BASE` at it (fixture `gated_stripe` in test_checkout_locking.py). A held
request waits, before it is forwarded, until the test sets `release`: "Stripe is slow" for
exactly as long as the test needs, so what other connections can do meanwhile is checked by
ordering, not by timing. Every request is recorded with Stripe's answer.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "content-encoding"}
HOLD_LIMIT_SECONDS = 60  # a held request is let through after this, so a failing test cannot hang


@dataclass
class Seen:
    method: str
    path: str
    status: int
    body: dict | None
    at: float = field(default_factory=time.monotonic)


def is_intent_create(method: str, path: str) -> bool:
    return method == "POST" and path.split("?")[0].rstrip("/") == "/v1/payment_intents"


class GatedStripe:
    def __init__(self, upstream: str, hold: Callable[[str, str], bool] = is_intent_create) -> None:
        self.upstream = upstream.rstrip("/")
        self.hold = hold
        self.entered = threading.Event()  # a held request has arrived (the caller is inside the call)
        self.release = threading.Event()  # let held requests through
        self.released_at: float | None = None
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        gate = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if gate.hold(self.command, self.path):
                    gate.entered.set()
                    gate.release.wait(timeout=HOLD_LIMIT_SECONDS)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                answer = requests.request(
                    self.command, f"{gate.upstream}{self.path}", data=body, headers=headers, timeout=30
                )
                try:
                    parsed = answer.json()
                except ValueError:
                    parsed = None
                with gate._lock:
                    gate.seen.append(Seen(self.command, self.path, answer.status_code, parsed))
                self.send_response(answer.status_code)
                for name, value in answer.headers.items():
                    if name.lower() not in HOP_BY_HOP:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = do_DELETE = _forward

            def log_message(self, format, *args) -> None:  # noqa: A002 - the stdlib's signature
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> GatedStripe:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def let_through(self) -> None:
        self.released_at = self.released_at or time.monotonic()
        self.release.set()

    def created_intent_ids(self) -> list[str]:
        """The PaymentIntents Stripe created through this proxy."""
        with self._lock:
            return [s.body["id"] for s in self.seen if is_intent_create(s.method, s.path) and s.status == 200]

    def paths(self, method: str) -> list[str]:
        with self._lock:
            return [s.path for s in self.seen if s.method == method]

    def __repr__(self) -> str:  # shown by pytest when an assertion about it fails
        return f"GatedStripe({json.dumps([(s.method, s.path, s.status) for s in self.seen])})"
