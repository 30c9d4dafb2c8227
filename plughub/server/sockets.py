"""How `plughub serve`'s workers take and answer connections.

**One accept at a time.** Workers share one listening socket. asyncio's loop accepts every
connection waiting whenever the socket wakes it, so a burst (a client pool opening its keep-alive
connections) lands on whichever worker woke first: measured with 2 workers and 64 connections,
splits of 20/44 and even 64/0, and the loaded worker sets everyone's tail latency. `FairAcceptLoop`
accepts one connection per turn of the loop, as nginx does without `multi_accept`: the other
workers, woken by the same readiness, take the next ones.

**TCP_NODELAY on every connection.** uvicorn writes a response's head and body in two writes.
With Nagle's algorithm on, the second waits for the client to acknowledge the first, and clients
delay that acknowledgement by up to 40 ms: every keep-alive request then takes 40 ms or more.
uvloop sets TCP_NODELAY on all its TCP connections; asyncio's loop sets it only on sockets whose
`proto` is IPPROTO_TCP, and the socket uvicorn binds for several workers has proto 0, so
`plughub serve --workers N` on asyncio's loop stalled every request (measured: p50 48 ms against
3 ms in the application).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
from typing import Any

try:  # the one uvicorn's "auto" picks
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _Base
except ImportError:  # pragma: no cover - httptools is part of uvicorn[standard]
    from uvicorn.protocols.http.h11_impl import H11Protocol as _Base  # type: ignore[assignment]

__all__ = ["FairAcceptLoop", "NoDelayProtocol", "loop_setting"]


class FairAcceptLoop(asyncio.SelectorEventLoop):
    """asyncio's selector event loop, accepting at most one connection per readiness event."""

    def _accept_connection(
        self, factory: Any, sock: Any, sslcontext: Any = None, server: Any = None, backlog: int = 100, *more: Any
    ) -> None:
        # The listening socket stays readable while connections wait: the next turn takes the
        # next one, and so may every other worker polling the same socket.
        super()._accept_connection(factory, sock, sslcontext, server, 1, *more)  # type: ignore[misc]


def loop_setting(loop: str) -> str:
    """The uvicorn `loop` setting for `plughub serve --loop`.

    Args:
        loop: `asyncio`, `uvloop` or `auto`.

    Returns:
        `FairAcceptLoop`'s import path for asyncio (but on Windows, whose proactor loop accepts
        one connection at a time already), else the name unchanged.
    """
    if loop == "asyncio" and sys.platform != "win32":
        return f"{__name__}:FairAcceptLoop"
    return loop


class NoDelayProtocol(_Base):
    """uvicorn's HTTP/1.1 protocol that sends small answers at once (TCP_NODELAY)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # noqa: D102
        sock: Any = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
