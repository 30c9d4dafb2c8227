"""A delivery target for the durability tests: a real HTTP server on 127.0.0.1 that counts.

It checks each delivery's Standard Webhooks signature with the `standardwebhooks` package (not
plughub's code), and keeps, per `webhook-id`: how many attempts arrived, how many it answered
2xx, how many were in progress at once (now and at most), and the payloads it saw (and, in `hold`
mode, how many requests it held at once at most). Its `mode`
says how it answers: `accept` (200, after `delay` seconds), `refuse` (503: the target is "down"),
or `hold` (the request waits until `release()`: a slow target with deliveries in flight).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

from standardwebhooks import Webhook, WebhookVerificationError

Mode = Literal["accept", "refuse", "hold"]


@dataclass
class Seen:
    """What arrived for one `webhook-id`."""

    attempts: int = 0
    accepted: int = 0
    in_progress: int = 0
    most_at_once: int = 0
    payloads: list[dict[str, Any]] = field(default_factory=list)


class _Server(ThreadingHTTPServer):
    # A real server's accept backlog: Python's default (5) drops connections when many open at once.
    request_queue_size = 128
    daemon_threads = True


class Receiver:
    """A Standard Webhooks target; `url` is where plughub delivers, `secret` is set once known."""

    def __init__(self, *, mode: Mode = "accept", delay: float = 0.0) -> None:
        self.mode: Mode = mode
        self.delay = delay
        self.secret: str | None = None
        self.seen: dict[str, Seen] = {}
        self.bad_signatures = 0
        self.held = 0
        self.most_held = 0
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._server = _Server(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self) -> str:
        """The target URL to subscribe with."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks"

    def release(self) -> None:
        """Let every held request (and every later one in `hold` mode) answer 200."""
        self._released.set()

    def close(self) -> None:
        """Release what is held and stop the server."""
        self._released.set()
        self._server.shutdown()
        self._server.server_close()

    def accepted_ids(self) -> set[str]:
        """The webhook-ids answered 2xx at least once."""
        with self._lock:
            return {key for key, seen in self.seen.items() if seen.accepted}

    def wait_for(self, condition: Callable[[], bool], what: str, deadline: float = 180.0) -> None:
        """Wait until `condition()` holds; fail after `deadline` seconds saying `what` was awaited."""
        until = time.monotonic() + deadline
        while not condition():
            if time.monotonic() > until:
                raise AssertionError(f"gave up after {deadline:g} s waiting for {what}; receiver saw {self.summary()}")
            time.sleep(0.1)

    def summary(self) -> str:
        """Counts for a failure message."""
        with self._lock:
            attempts = sum(s.attempts for s in self.seen.values())
            accepted = sum(1 for s in self.seen.values() if s.accepted)
            return (
                f"{len(self.seen)} ids, {attempts} attempts, {accepted} ids accepted, "
                f"{self.bad_signatures} bad signatures, {self.held} held now"
            )

    def _verify(self, body: bytes, headers: dict[str, str]) -> dict[str, Any] | None:
        if self.secret is None:
            return None
        try:
            return dict(Webhook(self.secret).verify(body, headers))
        except WebhookVerificationError:
            return None

    def _arrive(self, key: str, payload: dict[str, Any]) -> None:
        with self._lock:
            seen = self.seen.setdefault(key, Seen())
            seen.attempts += 1
            seen.in_progress += 1
            seen.most_at_once = max(seen.most_at_once, seen.in_progress)
            seen.payloads.append(payload)

    def _leave(self, key: str, accepted: bool) -> None:
        with self._lock:
            seen = self.seen[key]
            seen.in_progress -= 1
            seen.accepted += int(accepted)

    def _answer(self) -> int:
        if self.mode == "refuse":
            return 503
        if self.mode == "hold" and not self._released.is_set():
            with self._lock:
                self.held += 1
                self.most_held = max(self.most_held, self.held)
            self._released.wait()
            with self._lock:
                self.held -= 1
        if self.delay:
            time.sleep(self.delay)
        return 200

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                payload = receiver._verify(body, headers)
                if payload is None:
                    with receiver._lock:
                        receiver.bad_signatures += 1
                    self._reply(400)
                    return
                key = headers["webhook-id"]
                receiver._arrive(key, payload)
                status = 500
                try:
                    status = receiver._answer()
                finally:
                    receiver._leave(key, status == 200)
                self._reply(status)

            def _reply(self, status: int) -> None:
                data = json.dumps({"ok": status == 200}).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the sender died while we held its request: it never learns the answer

        return Handler
