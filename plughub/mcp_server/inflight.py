"""Answer the requests in flight when a stdio client closes stdin, before the server stops.

A client may send its last `tools/call` and close its side at once (a one-shot script, `echo ... |
plughub mcp serve`); the SDK's server stops serving when its read stream ends, and the call's answer is
lost although the action ran. So the server reads through a relay that, when the client's stream ends,
keeps the server's own open until every request read has been answered (or cancelled by the client),
for at most a grace period, and only then lets it end.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio
from mcp.server.lowlevel import Server
from mcp.shared.message import SessionMessage
from mcp_types import JSONRPCError, JSONRPCNotification, JSONRPCRequest, JSONRPCResponse

__all__ = ["STDIN_CLOSED_GRACE", "serve_until_answered"]

logger = logging.getLogger("plughub.mcp_server")

STDIN_CLOSED_GRACE = 60.0
"""Seconds the calls in flight get to finish once the client closed its side (an action's timeouts and
retries fit in it); then the server stops without their answers."""


async def serve_until_answered(
    server: Server[Any], read_stream: Any, write_stream: Any, *, grace: float = STDIN_CLOSED_GRACE
) -> None:
    """Serve a client over a stream pair; when the client's side ends, answer the requests in flight first.

    Args:
        server: The MCP server.
        read_stream: What the client sends (the SDK's stdio read stream).
        write_stream: Where answers go (the SDK's stdio write stream); closed at the end.
        grace: The longest wait, in seconds, for the answers once the client's side has ended.
    """
    to_server, server_reads = anyio.create_memory_object_stream[SessionMessage | Exception]()
    server_writes, from_server = anyio.create_memory_object_stream[SessionMessage]()
    pending: set[Any] = set()
    drained = anyio.Event()
    closed = False

    async def relay_in() -> None:
        nonlocal closed
        async with to_server:
            async for item in read_stream:
                if isinstance(item, SessionMessage):
                    message = item.message
                    if isinstance(message, JSONRPCRequest):
                        pending.add(message.id)
                    elif isinstance(message, JSONRPCNotification) and message.method == "notifications/cancelled":
                        pending.discard((message.params or {}).get("requestId"))  # a cancelled request gets no answer
                await to_server.send(item)
            closed = True
            if pending:
                with anyio.move_on_after(grace):
                    await drained.wait()
            if pending:
                logger.warning(
                    "the client closed stdin; %d request(s) unanswered after %.0f s are dropped", len(pending), grace
                )

    async def relay_out() -> None:
        async with write_stream, from_server:
            async for item in from_server:
                await write_stream.send(item)
                if isinstance(item.message, (JSONRPCResponse, JSONRPCError)):
                    pending.discard(item.message.id)
                    if closed and not pending:
                        drained.set()

    async with anyio.create_task_group() as outer:
        outer.start_soon(relay_in)
        async with anyio.create_task_group() as inner:
            inner.start_soon(relay_out)
            await server.run(server_reads, server_writes, server.create_initialization_options())
        outer.cancel_scope.cancel()  # the server has stopped: nothing more to relay to it
