"""Mount the aiXplain wire protocol on the server application."""

from __future__ import annotations

from fastapi import FastAPI

from plughub.engine import Engine
from plughub.server.aixplain import execute, polling, routes_v1, routes_v2
from plughub.server.aixplain.polling import Runs

__all__ = ["mount_aixplain"]


def mount_aixplain(app: FastAPI, engine: Engine) -> Runs:
    """Add the aiXplain SDK's routes to an application (left out of its OpenAPI document).

    Args:
        app: The application (`app.state.engine` and `app.state.settings` set).
        engine: The engine the routes call, the same one as `/v1`'s.

    Returns:
        The runner of asynchronous runs; close it when the application stops.
    """
    runs = Runs(engine.actions, engine.store, engine.credentials, engine.settings)
    app.state.aixplain_runs = runs
    for module in (routes_v1, routes_v2, execute, polling):
        app.include_router(module.router)
    return runs
