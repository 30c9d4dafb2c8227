"""`GET /metrics` and its access rules (requests are counted by `Front`).

With `PLUGHUB_METRICS_TOKEN` set, `/metrics` wants `Authorization: Bearer <token>` (compared in
constant time) from anyone; unset, it answers loopback clients only, so that a server listening on
every address does not show its traffic to the world by default.
"""

from __future__ import annotations

import hmac
import ipaddress
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from plughub.engine import Engine
from plughub.server.metrics import Metrics, exposition

__all__ = ["METRICS_PATH", "UNMATCHED", "is_loopback", "metrics_refusal", "metrics_route"]

METRICS_PATH = "/metrics"
UNMATCHED = "unmatched"  # the route of a request no route took (a 404, a body refused before routing)


def is_loopback(client: tuple[str, int] | list[Any] | None) -> bool:
    """Whether an ASGI client address is on this machine (127.0.0.0/8, ::1, or ::ffff:127.x.y.z).

    Args:
        client: The scope's `client` (host, port); None for a Unix socket or an unknown peer.

    Returns:
        True for a loopback address.
    """
    if not client:
        return False
    try:
        address = ipaddress.ip_address(client[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return bool((mapped or address).is_loopback)


def metrics_refusal(
    token: str | None, authorization: str, client: tuple[str, int] | list[Any] | None
) -> Response | None:
    """Why a request may not read the metrics, as the answer to give it; None when it may.

    Args:
        token: `PLUGHUB_METRICS_TOKEN` (None when unset).
        authorization: The request's Authorization header ("" when absent).
        client: The request's client address (the ASGI scope's `client`).

    Returns:
        A 401 (token set, not presented or wrong), a 403 (token unset, not a loopback client), or None.
    """
    if token:
        presented = authorization[7:].strip() if authorization[:7].lower() == "bearer " else ""
        if hmac.compare_digest(presented.encode(), token.encode()):
            return None
        message = (
            "/metrics needs `Authorization: Bearer <token>` with the token set in PLUGHUB_METRICS_TOKEN"
            if not presented
            else "the metrics token is wrong: send PLUGHUB_METRICS_TOKEN's value as `Authorization: Bearer <token>`"
        )
        body = {"error": "unauthorized", "message": message, "details": {}}
        return JSONResponse(body, status_code=401, headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    if is_loopback(client):
        return None
    message = (
        "/metrics answers clients on this machine only while PLUGHUB_METRICS_TOKEN is unset; set it on the "
        "server and send `Authorization: Bearer <token>` to scrape from another address"
    )
    return JSONResponse({"error": "forbidden", "message": message, "details": {}}, status_code=403)


class _MetricsEndpoint:
    """The ASGI handler of `GET /metrics`."""

    def __init__(self, engine: Engine, metrics: Metrics, token: str | None) -> None:
        self._engine = engine
        self._metrics = metrics
        self._token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope)
        refusal = metrics_refusal(self._token, request.headers.get("authorization", ""), scope.get("client"))
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        from anyio import to_thread  # httpx's dependency; reading the workers' files is blocking I/O

        body = await to_thread.run_sync(self._render)
        await Response(body, media_type=CONTENT_TYPE_LATEST)(scope, receive, send)

    def _render(self) -> bytes:
        return exposition(self._metrics, self._engine.connections.counts())


def metrics_route(engine: Engine, metrics: Metrics, token: str | None) -> Route:
    """The `/metrics` route (kept out of the OpenAPI document).

    Args:
        engine: The engine served (its connections are counted at each scrape).
        metrics: The process's metrics.
        token: `PLUGHUB_METRICS_TOKEN`, or None for loopback clients only.

    Returns:
        The route (GET and HEAD).
    """
    return Route(METRICS_PATH, _MetricsEndpoint(engine, metrics, token), methods=["GET"], include_in_schema=False)
