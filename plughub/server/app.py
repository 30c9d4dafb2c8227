"""`create_app`: the engine behind an HTTP API, for teams and their end users."""

from __future__ import annotations

import gc
import inspect
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from plughub.config import Settings
from plughub.engine import Engine
from plughub.server.errors import install_error_handlers
from plughub.server.limits import BodyLimit
from plughub.server.logs import configure_json_logs, write_through
from plughub.server.request_ids import RequestIds
from plughub.server.routes import actions, connections, health, integrations, oauth, pages, sessions
from plughub.server.run_route import RunRoute
from plughub.server.security import require_key

__all__ = ["app_from_env", "create_app"]

logger = logging.getLogger("plughub.server")


# FastAPI 0.16x traces, measures and logs every request through OpenTelemetry unless told not to;
# plughub keeps its own request log, and the hooks cost a fifth of a millisecond per request.
_NO_TELEMETRY: dict[str, Any] = (
    {"telemetry": {"tracing": False, "metrics": False, "logs": False}}
    if "telemetry" in inspect.signature(FastAPI.__init__).parameters
    else {}
)


class _Hub(FastAPI):
    """FastAPI with plughub's plain ASGI layers outside its own.

    FastAPI wraps the routes in its error page, telemetry and body-limit middlewares, each a
    coroutine and a `send` wrapper per request; the body limit, the request log and the run
    route's fast lane go around that stack instead, so that a fast-lane run crosses none of them.
    What reaches FastAPI is handled as before (its error handlers answer inside).
    """

    outer: Sequence[tuple[Any, dict[str, Any]]] = ()  # outermost first

    def build_middleware_stack(self) -> Any:  # FastAPI's stack inside ours
        app = super().build_middleware_stack()
        for layer, options in reversed(self.outer):
            app = layer(app, **options)
        return app


def create_app(engine: Engine | None = None, settings: Settings | None = None) -> FastAPI:
    """Build the server application.

    Args:
        engine: The engine to serve; one is opened from `settings` otherwise (with the outbound
            guard on, as a multi-tenant server needs).
        settings: The configuration; read from the environment when omitted.

    Returns:
        The ASGI application.
    """
    settings = settings or (engine.settings if engine else Settings.from_env())
    owned = engine is None
    served = engine or Engine(settings, database_url=settings.database_url, guard_outbound=True)
    from plughub.mcp import team_endpoint  # the MCP SDK costs half a second to import: only when serving

    mcp = team_endpoint(
        served, require_key, public_url=settings.public_url, allowed_origins=settings.mcp_allowed_origins
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with mcp.lifespan():  # a route's ASGI app gets no lifespan of its own
            yield
        write_through()  # stopping: nothing may be left in a batch when a signal ends the process
        await served.http.aclose()  # the loop's outbound connections
        runs = getattr(_app.state, "aixplain_runs", None)
        if runs is not None:
            runs.close()  # let asynchronous aiXplain runs finish before the engine closes
        if owned:
            served.close()

    app = _Hub(
        **_NO_TELEMETRY,
        title="plughub",
        version="1",
        description="A self-hosted integration hub: integrations, connections, actions, OAuth.",
        lifespan=lifespan,
    )
    app.state.engine = served
    app.state.settings = settings
    install_error_handlers(app)

    # The run-action route first: it is the hot one, and routes are matched in order.
    for module in (actions, health, integrations, connections, oauth, sessions, pages):
        app.include_router(module.router)
    if settings.aixplain_compat:
        # Imported here: a server with the compatibility switched off never loads it.
        from plughub.server.aixplain import mount_aixplain

        mount_aixplain(app, served)
    app.router.routes.append(mcp.route("/mcp"))  # MCP over streamable HTTP, the team's API key as bearer
    app.outer = [
        # Outermost, so that an oversized body is refused before anything reads it.
        (BodyLimit, {"limit": settings.max_body_bytes}),
        (RequestIds, {}),
        # Well-formed action runs are served before FastAPI's machinery (see RunRoute).
        (RunRoute, {"engine": served}),
    ]
    return app


def app_from_env() -> FastAPI:
    """The application as `plughub serve` runs it (an app factory for uvicorn workers).

    Returns:
        The application, with JSON logs.
    """
    configure_json_logs()
    app = create_app()
    _ = app.state.engine.http.async_transport  # aiohttp loaded now, so that it is frozen below
    _settle_memory()
    return app


def _settle_memory() -> None:
    """Tune the garbage collector for a long-running server process.

    What exists once the application is built (modules, the catalog, the engine) lives as long as
    the process: frozen, the collector no longer walks it on every full collection. The youngest
    generation is collected after 10,000 allocations rather than 700: each request allocates a
    few hundred objects, nearly all freed by reference counting, so the default setting ran a
    collection every other request (about 9 % of a busy worker's time, measured with gc.callbacks).
    """
    gc.collect()
    gc.freeze()
    _gen0, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(10_000, gen1, gen2)
