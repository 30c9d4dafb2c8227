"""`plughub serve`: the engine behind a multi-tenant HTTP API (extra `plughub[server]`)."""

from __future__ import annotations

from plughub.server.app import app_from_env, create_app

__all__ = ["app_from_env", "create_app"]
