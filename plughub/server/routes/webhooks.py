"""`POST /webhooks/{token}`: where providers post; public (the token and the signature authenticate).

The event is stored before the answer and delivered after it (the providers' timeouts are short).
Bodies over `PLUGHUB_MAX_BODY_BYTES` are refused (413) before anything reads them.

A hot route: `webhook_route` is served ahead of FastAPI (`plughub.server.hot_routes`), by a plain
ASGI handler that answers every error itself; the same path is registered in FastAPI (`router`)
so that another method there is FastAPI's 405.
"""

from __future__ import annotations

from functools import partial

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from plughub.engine import Engine
from plughub.exceptions import PlughubError
from plughub.server.errors import error_response, unexpected

__all__ = ["WEBHOOK_PATH", "ReceiveWebhook", "router", "webhook_route"]

WEBHOOK_PATH = "/webhooks/{token}"

router = APIRouter(tags=["events"])


class ReceiveWebhook:
    """The ASGI handler of `POST /webhooks/{token}`: check a provider's webhook, store its event, answer at once.

    Args:
        engine: The engine the server serves.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # noqa: D102
        request = Request(scope, receive)
        try:
            response = await self._receive(request)
        except PlughubError as exc:
            response = error_response(exc)
        except Exception as exc:  # a 500 that names no more than the class (and never re-raises its text)
            response = JSONResponse(unexpected(exc), status_code=500)
        await response(scope, receive, send)

    async def _receive(self, request: Request) -> Response:
        body = await request.body()
        query = request.scope.get("query_string", b"").decode("latin-1")
        work = partial(self.engine.events.receive, request.path_params["token"], body, request.headers, query)
        answer = await self.engine.store.db.offload(work)
        if answer.content_type == "text/plain":
            return PlainTextResponse(answer.body, status_code=answer.status)
        return JSONResponse(answer.body, status_code=answer.status)


def webhook_route(engine: Engine) -> Route:
    """The webhook route, to serve ahead of FastAPI.

    Args:
        engine: The engine the server serves.

    Returns:
        `POST WEBHOOK_PATH` served by `ReceiveWebhook`.
    """
    return Route(WEBHOOK_PATH, ReceiveWebhook(engine), methods=["POST"], name="receive_webhook")


@router.post(WEBHOOK_PATH, include_in_schema=False)
async def receive(request: Request) -> Response:
    """Check a provider's webhook, store its event and answer at once (served by `ReceiveWebhook`)."""
    return await ReceiveWebhook(request.app.state.engine)._receive(request)
