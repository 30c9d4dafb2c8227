"""The route template a request was served by (`/v1/connections/{connection_id}`), for metrics and spans.

FastAPI's own routes leave themselves in the scope (`scope["route"]`); the plain Starlette routes
the server adds ahead of them (the run route, `/mcp`, `/metrics`) do not, so those few are matched
again (Starlette's public `Route.matches`) once the request has been answered. The raw path is
never used: connect and webhook paths carry tokens.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Match

__all__ = ["RouteTemplates"]


class RouteTemplates:
    """Finds the template of the route that served a request.

    Args:
        api: The application whose routes are matched.
    """

    def __init__(self, api: FastAPI) -> None:
        self._routes = api.router.routes
        self._count = -1
        self._plain: list[BaseRoute] = []

    def __repr__(self) -> str:
        return f"RouteTemplates(plain={len(self._plain)})"

    def template(self, scope: dict[str, Any]) -> str | None:
        """The template of the route that served a request, once the application has answered it.

        Args:
            scope: The request's ASGI scope (as the application left it).

        Returns:
            The route's path template, or None when no route took the request.
        """
        route = scope.get("route")
        if route is not None:
            return getattr(route, "path", None)
        if self._count != len(self._routes):  # routes added since (they are added while the app is built)
            self._plain = [r for r in self._routes if not isinstance(r, APIRoute) and hasattr(r, "path")]
            self._count = len(self._routes)
        for plain in self._plain:
            match, _child = plain.matches(scope)
            if match is not Match.NONE:
                return getattr(plain, "path", None)
        return None
