"""B8's delivery target: a tiny HTTP/1.1 server on 127.0.0.1, in its own process, that times arrivals.

Like bench.upstream it is an `asyncio.Protocol` server (TCP_NODELAY, keep-alive, Content-Length
bodies). Every `POST` is a delivery from plughub: it answers 200 at once and records, for each
new `webhook-id`, the lag from the event's `received_at` (plughub's time of acceptance, in the
payload) to its arrival here, on the same machine's clock. Repeats of an id are counted apart.

- `GET /stats` -> `{"delivered": distinct ids, "repeats": n, "p50_ms", "p99_ms", "max_ms"}`
- `POST /reset` forgets what arrived (between measurements)

Run as `python -m bench.target [--port P]`: it prints `port <n>` once listening and stops when
its stdin closes or on SIGTERM. `Target` starts and stops that process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import os
import signal
import subprocess
import sys
import time
from types import TracebackType
from typing import Any

import httpx

from bench.common import percentile

__all__ = ["Target"]


class _Arrivals:
    def __init__(self) -> None:
        self.lags: dict[bytes, float] = {}
        self.repeats = 0
        self.unreadable = 0

    def reset(self) -> None:
        self.lags.clear()
        self.repeats = self.unreadable = 0

    def stats(self) -> dict[str, Any]:
        lags = sorted(self.lags.values())
        figures: dict[str, Any] = {"delivered": len(lags), "repeats": self.repeats, "unreadable": self.unreadable}
        for label, pct in (("p50_ms", 50), ("p99_ms", 99), ("max_ms", 100)):
            figures[label] = round(percentile(lags, pct) * 1000, 3) if lags else 0.0
        return figures


def _received_at(body: bytes) -> float:
    stamp = json.loads(body)["received_at"]
    if isinstance(stamp, (int, float)):
        return float(stamp)
    return datetime.datetime.fromisoformat(stamp).timestamp()


class _Protocol(asyncio.Protocol):
    def __init__(self, arrivals: _Arrivals) -> None:
        self.arrivals = arrivals
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        now = time.time()
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
            answer = self._route(head[0].split(b" ", 2), headers, body, now)
            payload = json.dumps(answer).encode()
            self.transport.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                % (len(payload), payload)
            )

    def _route(self, request: list[bytes], headers: dict[bytes, bytes], body: bytes, now: float) -> Any:
        method, path = request[0], request[1]
        if path == b"/stats":
            return self.arrivals.stats()
        if path == b"/reset":
            self.arrivals.reset()
            return {"ok": True}
        if method == b"POST":
            key = headers.get(b"webhook-id", b"")
            if key in self.arrivals.lags:
                self.arrivals.repeats += 1
            else:
                try:
                    self.arrivals.lags[key] = max(0.0, now - _received_at(body))
                except (ValueError, KeyError, TypeError):
                    self.arrivals.unreadable += 1
        return {"ok": True}

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


async def _serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    arrivals = _Arrivals()
    server = await loop.create_server(lambda: _Protocol(arrivals), "127.0.0.1", port, backlog=1024, reuse_address=True)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    stdin = sys.stdin.fileno()
    loop.add_reader(stdin, lambda: None if os.read(stdin, 1024) else stop.set())
    print(f"port {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await stop.wait()


class Target:
    """Start the target in a child process; stop it on exit."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "bench.target"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline().split()
        if len(line) != 2 or line[0] != "port":
            self.stop()
            raise RuntimeError(f"the target did not start: {line}")
        self.url = f"http://127.0.0.1:{int(line[1])}"

    def stats(self) -> dict[str, Any]:
        """Distinct deliveries, repeats and the lag percentiles since the last reset."""
        return dict(httpx.get(f"{self.url}/stats", timeout=10).json())

    def reset(self) -> None:
        httpx.post(f"{self.url}/reset", timeout=10).raise_for_status()

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

    def __enter__(self) -> Target:
        return self

    def __exit__(self, *_exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.target", description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    asyncio.run(_serve(args.port))


if __name__ == "__main__":
    main()
