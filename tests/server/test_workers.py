"""`plughub serve --workers 2`: each worker accepts on a socket of its own; dead workers are replaced.

The server runs as a real process (`python -m plughub.cli serve`); which worker holds which
connection is read from /proc, as `ss -p` does.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from plughub.cli import cli
from plughub.server import workers
from plughub.server.workers import WorkerFailed, reuse_port_spreads
from tests.servers import free_port

linux = pytest.mark.skipif(not reuse_port_spreads(), reason="SO_REUSEPORT spreads connections on Linux")

ROOT = Path(__file__).resolve().parents[2]
CONNECTIONS = 64


def broken_app() -> None:
    """An application factory that cannot build its application."""
    raise RuntimeError("no application today")


@contextmanager
def _serving(tmp_path: Path, workers: int = 2) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    command = [sys.executable, "-m", "plughub.cli", "serve", "--port", str(port), "--workers", str(workers)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_until(lambda: _listening(process.pid, port, workers) and _healthy(port), process, tmp_path)
        yield process, port
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(30)
        log.close()


def _wait_until(ready: Callable[[], bool], process: subprocess.Popen[bytes], tmp_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"plughub serve exited with {process.returncode}:\n{(tmp_path / 'serve.log').read_text()}")
        if ready():
            return
        time.sleep(0.1)
    pytest.fail(f"plughub serve did not get ready:\n{(tmp_path / 'serve.log').read_text()[-3000:]}")


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _workers(parent: int) -> list[int]:
    """The worker processes of a `plughub serve` (its children that multiprocessing spawned)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat[stat.rindex(")") + 2 :].split()[1]) == parent and b"spawn_main" in command:
            found.append(int(entry.name))
    return sorted(found)


def _sockets(port: int, state: str) -> set[str]:
    """The inodes of the TCP sockets on a local port in a state ("01" established, "0A" listening)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
                found.add(fields[9])
    return found


def _held(pids: list[int], port: int, state: str = "01") -> dict[int, int]:
    """How many sockets on `port` in a state (by default: established connections) each process holds."""
    sockets = _sockets(port, state)
    return {pid: len(_inodes(pid) & sockets) for pid in pids}


def _inodes(pid: int) -> set[str]:
    """The inodes of a process's sockets (none once it is gone)."""
    found = set()
    with contextlib.suppress(OSError):  # the process ended
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):  # the descriptor was closed meanwhile
                found.add(os.readlink(fd).removeprefix("socket:[").removesuffix("]"))
    return found


def _listening(parent: int, port: int, workers: int) -> bool:
    """Whether `workers` workers run, each listening (a worker still starting takes no connection)."""
    pids = _workers(parent)
    return len(pids) == workers and all(_held(pids, port, "0A").values())


async def _burst(port: int, count: int) -> list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """Open `count` connections at once (as a client pool does) and get one answer on each."""
    opened = await asyncio.gather(*(asyncio.open_connection("127.0.0.1", port) for _ in range(count)))
    for _reader, writer in opened:
        writer.write(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    answers = await asyncio.gather(*(reader.readuntil(b'{"status":"ok"}') for reader, _writer in opened))
    assert all(answer.startswith(b"HTTP/1.1 200") for answer in answers)
    return opened


@linux
def test_connections_opened_at_once_spread_over_the_workers(tmp_path: Path) -> None:
    with _serving(tmp_path) as (process, port):
        pids = _workers(process.pid)

        async def bursts() -> list[dict[int, int]]:
            shares = []
            for _ in range(3):
                opened = await _burst(port, CONNECTIONS)
                shares.append(_held(pids, port))
                for _reader, writer in opened:
                    writer.close()
                await asyncio.sleep(0.3)
            return shares

        for held in asyncio.run(bursts()):
            assert sum(held.values()) == CONNECTIONS, held
            # A fair coin per connection: one worker holding more than 48 of 64 happens once in 50,000.
            assert max(held.values()) <= 48, held


@linux
def test_a_worker_that_dies_is_replaced(tmp_path: Path) -> None:
    with _serving(tmp_path) as (process, port):
        first = _workers(process.pid)
        os.kill(first[0], signal.SIGKILL)

        async def answered() -> None:
            # Sent at once: those meant for the dead worker's socket wait in it for its successor.
            for _reader, writer in await asyncio.wait_for(_burst(port, CONNECTIONS), 60):
                writer.close()

        asyncio.run(answered())
        now = _workers(process.pid)
        assert first[0] not in now and first[1] in now and len(now) == 2


@linux
def test_sigterm_stops_the_server_and_its_workers(tmp_path: Path) -> None:
    with _serving(tmp_path) as (process, port):
        pids = _workers(process.pid)
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
    assert not [pid for pid in pids if Path(f"/proc/{pid}").exists()]
    assert not _healthy(port)


@linux
def test_a_worker_that_cannot_start_stops_the_server() -> None:
    with pytest.raises(WorkerFailed, match="a worker exited with status 1"):
        workers.serve("127.0.0.1", free_port(), 2, "asyncio", app="tests.server.test_workers:broken_app")


def test_serve_refuses_fewer_than_one_worker() -> None:
    result = CliRunner().invoke(cli, ["serve", "--workers", "0"])
    assert result.exit_code == 2
    assert "Invalid value for '--workers': at least 1" in result.output


def test_serve_hands_its_options_to_the_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[object, ...]] = []
    monkeypatch.setattr(workers, "serve", lambda *args: seen.append(args))
    port = free_port()
    result = CliRunner().invoke(cli, ["serve", "--port", str(port), "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert seen.pop() == ("127.0.0.1", port, 2, "asyncio")
    result = CliRunner().invoke(cli, ["serve", "--port", "0", "--loop", "uvloop"])
    assert result.exit_code == 0, result.output
    host, bound, count, loop = seen.pop()
    assert (host, count, loop) == ("127.0.0.1", 1, "uvloop")
    assert isinstance(bound, int) and bound > 0  # the port bound for --port 0
    result = CliRunner().invoke(cli, ["serve", "--loop", "trio"])
    assert result.exit_code == 2
    assert "Invalid value for '--loop'" in result.output


def test_a_failed_worker_is_one_error_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*_args: object) -> None:
        raise WorkerFailed("a worker exited with status 1")

    monkeypatch.setattr(workers, "serve", fail)
    result = CliRunner().invoke(cli, ["serve", "--port", str(free_port()), "--workers", "2"])
    assert result.exit_code == 1
    assert result.output.endswith(
        "\nError: a worker exited with status 1; the server could not start (its log above says why)\n"
    )
    assert "Traceback" not in result.output


def test_one_worker_is_uvicorns_own(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    seen: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: seen.update(options, app=app))
    workers.serve("127.0.0.1", 8765, 1, "asyncio")
    assert seen == {
        "app": "plughub.server.app:app_from_env",
        "factory": True,
        "host": "127.0.0.1",
        "port": 8765,
        "workers": 1,
        "loop": "asyncio",
        "log_config": None,
        "access_log": False,
    }
