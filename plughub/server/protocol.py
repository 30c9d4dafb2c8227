"""uvicorn's HTTP protocol with TCP_NODELAY on every connection, whatever the event loop.

uvicorn writes a response's head and body in two writes. With Nagle's algorithm on, the second
waits for the client to acknowledge the first, and clients delay that acknowledgement by up to
40 ms: every keep-alive request then takes 40 ms or more. uvloop sets TCP_NODELAY on all its TCP
connections; asyncio's loop sets it only on sockets whose `proto` is IPPROTO_TCP, and the socket
uvicorn binds for several workers has proto 0, so `plughub serve --workers N` on asyncio's loop
(where uvloop is not installed, or `--loop asyncio`) stalled every request (measured: p50 48 ms
against 3 ms in the application).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

try:  # the one uvicorn's "auto" picks
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _Base
except ImportError:  # pragma: no cover - httptools is part of uvicorn[standard]
    from uvicorn.protocols.http.h11_impl import H11Protocol as _Base  # type: ignore[assignment]

__all__ = ["NoDelayProtocol"]


class NoDelayProtocol(_Base):
    """uvicorn's HTTP/1.1 protocol that sends small answers at once (TCP_NODELAY)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # noqa: D102
        sock: Any = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
