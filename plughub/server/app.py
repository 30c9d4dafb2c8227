"""`create_app`: the engine behind an HTTP API, for teams and their end users."""

from __future__ import annotations

import asyncio
import gc
import inspect
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.routing import Route

from plughub.config import Settings
from plughub.engine import Engine
from plughub.server import console
from plughub.server.errors import error_response, install_error_handlers
from plughub.server.front import Front
from plughub.server.hot_routes import HotRoutes
from plughub.server.logs import configure_json_logs, write_through
from plughub.server.metrics import process_metrics
from plughub.server.metrics_http import metrics_route
from plughub.server.route_templates import RouteTemplates
from plughub.server.routes import (
    actions,
    connections,
    health,
    integrations,
    oauth,
    pages,
    sessions,
    subscriptions,
    team,
    webhooks,
)
from plughub.server.routes.webhooks import webhook_route
from plughub.server.run_route import openapi_routes, run_route
from plughub.server.security import require_key

__all__ = ["ServerApp", "app_from_env", "create_app"]

logger = logging.getLogger("plughub.server")


# FastAPI 0.16x traces, measures and logs every request through OpenTelemetry unless told not to;
# plughub keeps its own request log, and the hooks cost a fifth of a millisecond per request.
_NO_TELEMETRY: dict[str, Any] = (
    {"telemetry": {"tracing": False, "metrics": False, "logs": False}}
    if "telemetry" in inspect.signature(FastAPI.__init__).parameters
    else {}
)


class ServerApp:
    """The ASGI application `plughub serve` runs: plain ASGI layers around the FastAPI application.

    Outermost `Front`: the request metrics (refused bodies are requests too), the body limit (an
    oversized or too deeply nested body is refused before anything reads it), the request id, the
    request log and the headers every answer carries (answers from FastAPI's own error pages carry
    them too); then, when tracing, the request's span; then the run route and the webhook route
    (`HotRoutes`: the hot paths skip FastAPI's layers); then FastAPI.

    Args:
        api: The FastAPI application.
        max_body_bytes: The largest request body accepted.
        metrics: Counts requests (`api.state.metrics`); None counts nothing.
        tracing: Opens a span per request (`plughub.server.tracing.Tracing`); None traces nothing.
        run: The run route, served ahead of FastAPI (it is registered in FastAPI too).
        hot: More routes served ahead of FastAPI (the webhook route; registered there too).

    Attributes:
        api: The FastAPI application (`api.state.engine` is the engine served, `api.state.metrics`
            its metrics).
    """

    def __init__(
        self,
        api: FastAPI,
        max_body_bytes: int,
        metrics: Any = None,
        tracing: Any = None,
        run: Route | None = None,
        hot: tuple[Route, ...] = (),
    ) -> None:
        self.api = api
        templates = RouteTemplates(api)
        first = ((run,) if run is not None else ()) + hot
        inner: Any = HotRoutes(first, api) if first else api
        if tracing is not None:
            from plughub.server.tracing import RequestSpans  # OpenTelemetry: only when tracing

            inner = RequestSpans(inner, tracing, templates)
        self._layers = Front(inner, max_body_bytes=max_body_bytes, metrics=metrics, templates=templates)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:  # noqa: D102
        await self._layers(scope, receive, send)


def create_app(
    engine: Engine | None = None, settings: Settings | None = None, *, tracer_provider: Any = None
) -> ServerApp:
    """Build the server application.

    The engine is instrumented (`Engine.instrument`): the application's Prometheus metrics count
    its runs, and with tracing on its runs get spans.

    Args:
        engine: The engine to serve; one is opened from `settings` otherwise (with the outbound
            guard on, as a multi-tenant server needs).
        settings: The configuration; read from the environment when omitted.
        tracer_provider: An OpenTelemetry `TracerProvider` for the server's spans (the `otel` extra);
            when omitted, one exporting by OTLP is built if `OTEL_EXPORTER_OTLP_ENDPOINT` is set.

    Returns:
        The ASGI application (its `api` is the FastAPI application inside).

    Raises:
        ConfigurationError: The OpenTelemetry variables ask for what cannot be done.
    """
    settings = settings or (engine.settings if engine else Settings.from_env())
    owned = engine is None
    served = engine or Engine(settings, database_url=settings.database_url, guard_outbound=True)
    # The MCP SDK costs half a second to import: only when serving.
    from plughub.mcp_server import team_endpoint

    mcp = team_endpoint(
        served,
        require_key,
        error_response,
        public_url=settings.public_url,
        allowed_origins=settings.mcp_allowed_origins,
    )

    metrics = process_metrics()
    metrics.queue_depth = served.events.queue_depth
    tracing, own_provider = _tracing(tracer_provider)
    served.instrument(observer=metrics, tracer=tracing)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Each server process runs jobs (polls, subscribe calls) and sends deliveries, from its loop.
        loop = asyncio.get_running_loop()
        served.events.start_worker(loop)
        try:
            async with mcp.lifespan():  # a route's ASGI app gets no lifespan of its own
                yield
        finally:
            # In a thread: the attempts under way end on this loop, which must go on meanwhile.
            await loop.run_in_executor(None, served.events.stop_worker)
        write_through()  # stopping: nothing may be left in a batch when a signal ends the process
        if own_provider:
            tracing.provider.shutdown()  # the spans still batched go out
        await served.http.aclose()  # the loop's outbound connections
        runs = getattr(_app.state, "aixplain_runs", None)
        if runs is not None:
            runs.close()  # let asynchronous aiXplain runs finish before the engine closes
        if owned:
            served.close()

    api = FastAPI(
        **_NO_TELEMETRY,
        title="plughub",
        version="1",
        description="A self-hosted integration hub: integrations, connections, actions, OAuth.",
        lifespan=lifespan,
    )
    api.state.engine = served
    api.state.settings = settings
    api.state.metrics = metrics
    install_error_handlers(api)
    for module in (actions, health, integrations, connections, oauth, sessions, pages, subscriptions, webhooks, team):
        api.include_router(module.router)
    api.include_router(console.router)  # the operator's console at /console
    if settings.aixplain_compat:
        # Imported here: a server with the compatibility switched off never loads it.
        from plughub.server.aixplain import mount_aixplain

        mount_aixplain(api, served)
    api.router.routes.append(mcp.route("/mcp"))  # MCP over streamable HTTP, the team's API key as bearer
    api.router.routes.append(metrics_route(served, metrics, settings.metrics_token))
    # The run route first: it is the hot one, and routes are matched in order.
    run = run_route(served)
    api.router.routes.insert(0, run)
    _describe(api, run)
    return ServerApp(api, settings.max_body_bytes, metrics, tracing, run, (webhook_route(served),))


def _tracing(provider: Any) -> tuple[Any, bool]:
    """The server's `Tracing` over the given provider, or over one the environment asks for.

    Returns:
        The tracing (None when off) and whether the application built, and so shuts down, its provider.
    """
    if provider is None and not (
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    ):
        return None, False  # OpenTelemetry is not imported
    try:
        from plughub.server.tracing import Tracing, provider_from_env
    except ImportError:
        logger.warning(
            "OTEL_EXPORTER_OTLP_ENDPOINT is set, but OpenTelemetry is not installed: pip install 'plughub[otel]'"
        )
        return None, False
    own = provider is None
    provider = provider if provider is not None else provider_from_env()
    return (Tracing(provider), own) if provider is not None else (None, False)


def _describe(api: FastAPI, run: Route) -> None:
    """Describe the run route in the OpenAPI document as its declaration says (FastAPI's "Extending OpenAPI")."""

    def openapi() -> dict[str, Any]:
        if not api.openapi_schema:
            api.openapi_schema = get_openapi(
                title=api.title,
                version=api.version,
                openapi_version=api.openapi_version,
                summary=api.summary,
                description=api.description,
                terms_of_service=api.terms_of_service,
                contact=api.contact,
                license_info=api.license_info,
                routes=openapi_routes(api.routes, run),
                webhooks=api.webhooks.routes,
                tags=api.openapi_tags,
                servers=api.servers,
                separate_input_output_schemas=api.separate_input_output_schemas,
            )
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]


def app_from_env() -> ServerApp:
    """The application as `plughub serve` runs it (an app factory for uvicorn workers).

    Returns:
        The application, with JSON logs.
    """
    configure_json_logs()
    app = create_app()
    _ = app.api.state.engine.http.async_transport  # aiohttp loaded now, so that it is frozen below
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
