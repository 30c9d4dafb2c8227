"""Closed-loop HTTP load from another process: `wrk` with a Lua script, or an asyncio client.

`load(...)` runs Debian's `wrk` when it is installed (C, cheap per request, so it leaves the two
cores to what is measured), else this module as a process (`python -m bench.loadgen ...`): raw
asyncio sockets with pre-built requests, keep-alive, Content-Length bodies. `BENCH_LOADGEN=python`
forces the Python one. Both report requests, seconds, p50/p99 latency and errors as JSON.

`load_each(...)` sends a list of distinct requests (each signed webhook needs its own delivery
id), each once, from the Python generator: the clients take the next request from the list until
the time is up or the list is spent.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

__all__ = ["LoadResult", "load", "load_each", "tool"]

_LUA = """
wrk.method = {method}
wrk.body = {body}
{headers}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCHJSON {{\\"requests\\":%.0f,\\"seconds\\":%.6f,\\"p50_ms\\":%.3f,\\"p99_ms\\":%.3f,"
    .. "\\"errors\\":%.0f,\\"non2xx\\":%.0f}}\\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(99) / 1e3,
    e.connect + e.read + e.write + e.timeout, e.status))
end
"""


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    non2xx: int
    tool: str

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def tool() -> str:
    """`wrk` when installed (and not overridden by BENCH_LOADGEN=python), else `python`."""
    if os.environ.get("BENCH_LOADGEN") == "python" or not shutil.which("wrk"):
        return "python"
    return "wrk"


def load(
    url: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: str = "",
    connections: int = 64,
    seconds: float = 5.0,
) -> LoadResult:
    """Keep `connections` requests in flight for `seconds`, from another process.

    Args:
        url: The full URL.
        method: The HTTP method.
        headers: Extra headers.
        body: The request body (sent as is).
        connections: Concurrent clients (each one request at a time, keep-alive).
        seconds: How long.

    Returns:
        What the load generator measured.
    """
    headers = headers or {}
    if tool() == "wrk":
        return _wrk(url, method, headers, body, connections, seconds)
    command = [sys.executable, "-m", "bench.loadgen", url, "--method", method, "--body", body]
    command += ["--connections", str(connections), "--seconds", str(seconds)]
    for name, value in headers.items():
        command += ["--header", f"{name}: {value}"]
    out = subprocess.run(command, check=True, capture_output=True, text=True, timeout=seconds + 60).stdout
    return LoadResult(**json.loads(out.strip().splitlines()[-1]), tool="python asyncio")


def load_each(
    url: str,
    requests: list[tuple[dict[str, str], bytes]],
    *,
    method: str = "POST",
    connections: int = 16,
    seconds: float = 5.0,
) -> LoadResult:
    """Send distinct requests, each once, with `connections` in flight, for at most `seconds`.

    Args:
        url: The full URL (the same for all).
        requests: (headers, body) of each request, in order; build more than the time can use.
        method: The HTTP method.
        connections: Concurrent clients (each one request at a time, keep-alive).
        seconds: How long at most.

    Returns:
        What the load generator measured (`requests` is how many were answered).
    """
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "requests.jsonl"
        with path.open("w") as out:
            for headers, body in requests:
                out.write(json.dumps({"headers": [f"{k}: {v}" for k, v in headers.items()], "body": body.decode()}))
                out.write("\n")
        command = [sys.executable, "-m", "bench.loadgen", url, "--method", method, "--requests", str(path)]
        command += ["--connections", str(connections), "--seconds", str(seconds)]
        out = subprocess.run(command, check=True, capture_output=True, text=True, timeout=seconds + 120).stdout
    return LoadResult(**json.loads(out.strip().splitlines()[-1]), tool="python asyncio, one request each")


def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid Lua string literal for ASCII text


def _wrk(url: str, method: str, headers: dict[str, str], body: str, connections: int, seconds: float) -> LoadResult:
    lines = "\n".join(f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items())
    script = _LUA.format(method=_lua_string(method), body=_lua_string(body), headers=lines)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "load.lua"
        path.write_text(script)
        threads = str(min(2, connections))
        command = ["wrk", "-t", threads, "-c", str(connections), "-d", f"{max(1, round(seconds))}s", "--timeout", "10s"]
        out = subprocess.run(
            [*command, "-s", str(path), url], check=True, capture_output=True, text=True, timeout=seconds + 60
        ).stdout
    found = [line for line in out.splitlines() if line.startswith("BENCHJSON ")]
    if not found:
        raise RuntimeError(f"wrk printed no result:\n{out}")
    return LoadResult(**json.loads(found[-1].removeprefix("BENCHJSON ")), tool="wrk")


# The Python load generator (the child process)


async def _client(
    host: str, port: int, requests: Iterator[bytes], deadline: float, latencies: list[float], tally: dict[str, int]
):  # type: ignore[no-untyped-def]
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline:
            request = next(requests, None)
            if request is None:
                break
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if not head.startswith((b"HTTP/1.1 2", b"HTTP/1.1 3")):
                tally["non2xx"] += 1
    except (OSError, asyncio.IncompleteReadError):
        tally["errors"] += 1
    finally:
        writer.close()


def _request(url: str, method: str, headers: list[str], body: str) -> bytes:
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    raw = body.encode()
    lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}", *headers]
    if raw or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(raw)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + raw


async def _run(url: str, requests: Iterator[bytes], connections: int, seconds: float) -> dict:  # type: ignore[type-arg]
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    latencies: list[float] = []
    tally = {"errors": 0, "non2xx": 0}
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(*(_client(host, port, requests, deadline, latencies, tally) for _ in range(connections)))
    elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {
        "requests": len(latencies),
        "seconds": elapsed,
        "p50_ms": cuts[49] * 1000,
        "p99_ms": cuts[98] * 1000,
        **tally,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--method", default="GET")
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--body", default="")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--requests", help="a JSON-lines file of {headers, body}: each sent once, in order")
    args = parser.parse_args()
    if args.requests:
        with open(args.requests) as source:
            built = [_request(args.url, args.method, r["headers"], r["body"]) for r in map(json.loads, source)]
        requests: Iterator[bytes] = iter(built)
    else:
        requests = itertools.repeat(_request(args.url, args.method, args.header, args.body))
    result = asyncio.run(_run(args.url, requests, args.connections, args.seconds))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
