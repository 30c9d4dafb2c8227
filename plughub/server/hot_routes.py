"""`HotRoutes`: the server's hot routes, served before FastAPI's own middleware and router see them."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["HotRoutes"]


class HotRoutes:
    """Serve a `POST` to a hot route (the run route, the providers' webhooks) before FastAPI.

    FastAPI's layers (its error middleware, exception handlers, the exit stack, the router's walk
    over every route) cost a tenth of a run's CPU, and the hot routes' handlers need none of them:
    they answer every error themselves. Whatever else comes (another method on a hot path, any
    other path) goes to FastAPI, where the same routes are registered, so a `GET` there is
    FastAPI's 405 as before.

    Args:
        routes: The hot routes (each a Starlette `Route` over a plain ASGI handler).
        app: The FastAPI application.
    """

    def __init__(self, routes: Sequence[Route], app: ASGIApp) -> None:
        self.routes = tuple(routes)
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # noqa: D102
        if scope["type"] == "http" and scope["method"] == "POST":
            for route in self.routes:
                match, child = route.matches(scope)
                if match is Match.FULL:
                    scope["route"] = route  # as FastAPI's routes do: the metrics and spans read its template
                    await route.handle({**scope, **child}, receive, send)
                    return
        await self.app(scope, receive, send)
