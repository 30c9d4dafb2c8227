"""`plughub serve`'s event loop: workers take waiting connections one per turn."""

from __future__ import annotations

import asyncio
import itertools
import socket
from typing import Any

import pytest
import uvicorn
from click.testing import CliRunner

from plughub.cli import cli
from plughub.server.sockets import FairAcceptLoop, loop_setting
from tests.servers import free_port


def test_serve_runs_uvicorn_with_it_on_asyncios_loop(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: seen.update(options, app=app))
    monkeypatch.setenv("PLUGHUB_HOME", str(tmp_path))
    port = free_port()
    result = CliRunner().invoke(cli, ["serve", "--port", str(port), "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert (seen["host"], seen["port"]) == ("127.0.0.1", port)
    assert "http" not in seen  # uvicorn's own protocol: asyncio sets TCP_NODELAY on its sockets
    assert (seen["loop"], seen["workers"], seen["factory"]) == ("plughub.server.sockets:FairAcceptLoop", 2, True)
    result = CliRunner().invoke(cli, ["serve", "--port", "0", "--loop", "uvloop"])
    assert result.exit_code == 0, result.output
    assert seen["loop"] == "uvloop"
    assert seen["port"] > 0  # the port bound for --port 0
    result = CliRunner().invoke(cli, ["serve", "--loop", "trio"])
    assert result.exit_code == 2
    assert "Invalid value for '--loop'" in result.output


def _accepted_per_turn(loop_class: type[asyncio.SelectorEventLoop], waiting: int = 5) -> list[int]:
    """Connections accepted after each turn of a loop serving a socket with `waiting` in its queue."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    clients = [socket.create_connection(listener.getsockname()) for _ in range(waiting)]
    made: list[asyncio.BaseTransport] = []

    class Count(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            made.append(transport)

    loop = loop_class()
    counts = []
    try:
        server = loop.run_until_complete(loop.create_server(Count, sock=listener))
        for _turn in range(2 * waiting):
            loop.stop()  # documented: run_forever then polls once, runs what is due, and returns
            loop.run_forever()
            counts.append(len(made))
        server.close()
        for transport in made:
            transport.close()
        loop.run_until_complete(server.wait_closed())
    finally:
        loop.close()
        for client in clients:
            client.close()
    return counts


def test_a_worker_accepts_one_waiting_connection_per_turn() -> None:
    counts = _accepted_per_turn(FairAcceptLoop)
    assert counts[0] < 5  # the others are left for the other workers polling the same socket
    assert counts[-1] == 5  # and taken on the next turns when nobody else does
    assert all(later - earlier <= 1 for earlier, later in itertools.pairwise(counts))


def test_asyncios_own_loop_takes_every_waiting_connection_at_once() -> None:
    # The reason for FairAcceptLoop: the first worker awake took a whole burst.
    assert _accepted_per_turn(asyncio.SelectorEventLoop)[0] == 5


def test_the_loop_setting() -> None:
    assert loop_setting("asyncio") == "plughub.server.sockets:FairAcceptLoop"
    assert (loop_setting("uvloop"), loop_setting("auto")) == ("uvloop", "auto")
