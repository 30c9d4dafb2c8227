"""The benchmarks' upstream: a tiny HTTP/1.1 JSON API on 127.0.0.1, in its own process.

It is an `asyncio.Protocol` server (asyncio sets TCP_NODELAY on its sockets, so a small answer
leaves at once, unlike `http.server`, whose ~40 ms Nagle / delayed-ACK stall would swamp what we
measure). Keep-alive, Content-Length bodies, no chunking. Every route but `/health` and `/stats`
demands `Authorization: Bearer <token>`, so the credentials really travel:

- `GET /items/{id}[?verbose=true]` -> `{"id": ..., "name": ..., "ok": true}`
- `POST /items` (JSON body) -> `{"created": <body>, "ok": true}`
- `GET /stats` -> `{"authorized": n, "refused": n}` (no credentials needed)

Run as `python -m bench.upstream --token T [--port P]`: it prints `port <n>` once listening and
stops when its stdin closes or on SIGTERM. `Upstream` starts and stops that process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from types import TracebackType
from typing import Any

import httpx

__all__ = ["Upstream"]

_REASONS = {200: b"OK", 201: b"Created", 400: b"Bad Request", 401: b"Unauthorized", 404: b"Not Found"}


class _Counters:
    authorized = 0
    refused = 0


def _answer(status: int, payload: Any, keep_alive: bool) -> bytes:
    body = json.dumps(payload, separators=(",", ":")).encode()
    head = b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n" % (
        status,
        _REASONS.get(status, b"OK"),
        len(body),
        b"" if keep_alive else b"Connection: close\r\n",
    )
    return head + body


class _Protocol(asyncio.Protocol):
    def __init__(self, expected: bytes, counters: type[_Counters]) -> None:
        self.expected = expected
        self.counters = counters
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.transport is not None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].split(b"\r\n")
            headers = {}
            for line in head[1:]:
                name, _, value = line.partition(b":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get(b"content-length", b"0"))
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            method, target, _version = head[0].split(b" ", 2)
            keep_alive = headers.get(b"connection", b"").lower() != b"close"
            self.transport.write(_answer(*self._route(method, target, headers, body), keep_alive))
            if not keep_alive:
                self.transport.close()
                self.transport = None

    def _route(self, method: bytes, target: bytes, headers: dict[bytes, bytes], body: bytes) -> tuple[int, Any]:
        path, _, query = target.partition(b"?")
        if path == b"/health":
            return 200, {"ok": True}
        if path == b"/stats":
            return 200, {"authorized": self.counters.authorized, "refused": self.counters.refused}
        if headers.get(b"authorization") != self.expected:
            self.counters.refused += 1
            return 401, {"error": "unauthorized"}
        self.counters.authorized += 1
        if method == b"GET" and path.startswith(b"/items/"):
            item = path[7:].decode()
            return 200, {"id": item, "name": f"item {item}", "verbose": b"verbose=true" in query, "ok": True}
        if method == b"POST" and path == b"/items":
            try:
                return 201, {"created": json.loads(body or b"{}"), "ok": True}
            except ValueError:
                return 400, {"error": "bad json"}
        return 404, {"error": "no route"}

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


async def _serve(port: int, token: str) -> None:
    loop = asyncio.get_running_loop()
    expected = b"Bearer " + token.encode()
    server = await loop.create_server(
        lambda: _Protocol(expected, _Counters), "127.0.0.1", port, backlog=1024, reuse_address=True
    )
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    # The parent holds our stdin; when it goes away (or closes it), so do we.
    stdin = sys.stdin.fileno()
    loop.add_reader(stdin, lambda: None if os.read(stdin, 1024) else stop.set())
    print(f"port {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await stop.wait()


class Upstream:
    """Start the upstream in a child process; stop it on exit.

    Args:
        token: The bearer token it accepts.
        port: 0 picks a free port.
    """

    def __init__(self, token: str, port: int = 0) -> None:
        self.token = token
        self._process = subprocess.Popen(
            [sys.executable, "-m", "bench.upstream", "--token", token, "--port", str(port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline().split()
        if len(line) != 2 or line[0] != "port":
            self.stop()
            raise RuntimeError(f"the upstream did not start: {line}")
        self.port = int(line[1])
        self.url = f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self._process.pid

    def stats(self) -> dict[str, int]:
        """How many requests it accepted and refused so far."""
        return dict(httpx.get(f"{self.url}/stats", timeout=5).json())

    def stop(self) -> None:
        if self._process.poll() is None:
            assert self._process.stdin is not None
            with contextlib.suppress(BrokenPipeError):
                self._process.stdin.close()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(5)

    def __enter__(self) -> Upstream:
        return self

    def __exit__(self, *_exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.upstream", description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", required=True)
    args = parser.parse_args()
    asyncio.run(_serve(args.port, args.token))


if __name__ == "__main__":
    main()
