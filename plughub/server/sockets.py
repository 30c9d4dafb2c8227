"""How `plughub serve`'s workers take and answer connections.

**One accept at a time.** Workers share one listening socket. asyncio's loop accepts every
connection waiting whenever the socket wakes it, so a burst (a client pool opening its keep-alive
connections) lands on whichever worker woke first: measured with 2 workers and 64 connections,
splits of 20/44 and even 64/0, and the loaded worker sets everyone's tail latency. `FairAcceptLoop`
accepts one connection per turn of the loop, as nginx does without `multi_accept`: the other
workers, woken by the same readiness, take the next ones.

TCP_NODELAY needs nothing of ours: asyncio sets it on every TCP connection it accepts, and
uvicorn (0.55 and later) binds the socket it shares between workers as TCP.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

__all__ = ["FairAcceptLoop", "loop_setting"]


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
