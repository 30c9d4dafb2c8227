"""The `Plughub-Via` header: which plughub servers an MCP request passed through, so that loops stop at once.

An MCP connection may point at an MCP server that is itself plughub (its `/mcp`, or `plughub mcp serve
--transport http`), and so, by mistake, at the very server it runs on: listing that server's tools lists
the connection's tools, which asks the server again, without end. So every MCP request plughub sends
carries `Plughub-Via: <id>, <id>, ...`, the ids of the plughub processes it passed through (the ids the
request being served arrived with, then this process's), and an MCP endpoint of plughub refuses (508) a
request that names its own process, or that passed through `MAX_HOPS` of them (a loop among several
replicas, or a chain too long). An id is random per process and says nothing else.

Nothing here imports the rest of plughub: the engine (which sends) and `plughub.mcp_server` (which checks) share it.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

__all__ = ["HEADER", "MAX_HOPS", "PROCESS_ID", "arrived", "outbound", "parse", "refusal", "running_after"]

HEADER = "Plughub-Via"
MAX_HOPS = 8
PROCESS_ID = secrets.token_hex(6)
"""This process's id in `Plughub-Via` (random: server replicas and workers each have their own)."""

_ID = re.compile(r"^[0-9a-f]{1,32}$")
_ARRIVED: ContextVar[tuple[str, ...]] = ContextVar("plughub_via", default=())
T = TypeVar("T")


def parse(value: str | None) -> tuple[str, ...]:
    """Read a `Plughub-Via` header.

    Args:
        value: The header's value, or None when it is absent.

    Returns:
        The ids, in order; what is not an id is left out (the header is a client's to send).
    """
    if not value:
        return ()
    ids = (part.strip().lower() for part in value.split(","))
    return tuple(part for part in ids if _ID.match(part))


def refusal(chain: tuple[str, ...]) -> str | None:
    """Why a request that arrived with this chain must be refused, if it must.

    Args:
        chain: The ids the request arrived with.

    Returns:
        The message to answer with (508), or None to serve the request.
    """
    if PROCESS_ID in chain:
        return (
            f"this MCP request came back to a plughub server it had passed through (the {HEADER} header names "
            "it): an MCP connection points at its own server's /mcp, directly or through other plughub servers. "
            "Point it at another MCP server."
        )
    if len(chain) >= MAX_HOPS:
        return (
            f"this MCP request has passed through {len(chain)} plughub servers (the {HEADER} header), the most "
            "allowed: MCP connections between plughub servers make a loop or a chain too long."
        )
    return None


@contextmanager
def arrived(chain: tuple[str, ...]) -> Iterator[None]:
    """Mark the code in the block as serving a request that arrived with this chain.

    Args:
        chain: The ids the request arrived with.

    Yields:
        Nothing; MCP requests sent in the block carry the chain and this process's id.
    """
    token = _ARRIVED.set(chain)
    try:
        yield
    finally:
        _ARRIVED.reset(token)


def running_after(chain: tuple[str, ...], func: Callable[..., T], *args: object) -> T:
    """Call `func(*args)` as serving a request that arrived with this chain (for a worker thread).

    Args:
        chain: The ids the request arrived with.
        func: The function.
        *args: Its arguments.

    Returns:
        What it returns.
    """
    with arrived(chain):
        return func(*args)


def outbound() -> str:
    """The `Plughub-Via` value for an MCP request sent now.

    Returns:
        The ids the request being served arrived with (none outside one), then this process's.
    """
    return ", ".join((*_ARRIVED.get(), PROCESS_ID))
