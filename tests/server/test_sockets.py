"""`plughub serve`'s HTTP protocol: TCP_NODELAY on every connection, on asyncio's loop too."""

from __future__ import annotations

import asyncio
import itertools
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from click.testing import CliRunner
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from plughub.cli import cli
from plughub.server.sockets import FairAcceptLoop, NoDelayProtocol, loop_setting
from tests.servers import free_port


async def _hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"hello"})


@contextmanager
def _server(protocol: type[Any]) -> Iterator[tuple[str, uvicorn.Server]]:
    """uvicorn on asyncio's loop over a socket it bound itself, as with `--workers 2`."""
    config = uvicorn.Config(
        _hello, host="127.0.0.1", port=free_port(), loop="asyncio", http=protocol, log_config=None, lifespan="off"
    )
    sock = config.bind_socket()
    assert sock.proto == 0  # what keeps asyncio's loop from setting TCP_NODELAY itself
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{config.port}", server
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def _nodelay_of_open_connections(protocol: type[Any]) -> list[int]:
    with _server(protocol) as (url, server), httpx.Client() as client:
        assert client.get(url).text == "hello"  # the keep-alive connection stays open
        return [
            connection.transport.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            for connection in server.server_state.connections
        ]


def test_every_connection_sends_without_nagle() -> None:
    assert _nodelay_of_open_connections(NoDelayProtocol) == [1]


def test_uvicorns_own_protocol_leaves_nagle_on_there() -> None:
    # The reason for NoDelayProtocol: should uvicorn or asyncio change this, the class can go.
    assert _nodelay_of_open_connections(HttpToolsProtocol) == [0]


def test_serve_runs_uvicorn_with_it_on_asyncios_loop(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: seen.update(options, app=app))
    monkeypatch.setenv("PLUGHUB_HOME", str(tmp_path))
    result = CliRunner().invoke(cli, ["serve", "--port", "9999", "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert seen["http"] is NoDelayProtocol
    assert (seen["loop"], seen["workers"], seen["factory"]) == ("plughub.server.sockets:FairAcceptLoop", 2, True)
    result = CliRunner().invoke(cli, ["serve", "--loop", "uvloop"])
    assert seen["loop"] == "uvloop"
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
