"""The operator's console at `/console`: server-rendered pages over the engine's services, per team."""

from __future__ import annotations

from fastapi import APIRouter

from plughub.server.console import (
    connections,
    integrations,
    keys,
    links,
    oauth_apps,
    runs,
    signing,
    subscriptions,
)

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
for _module in (signing, integrations, connections, runs, subscriptions, oauth_apps, keys, links):
    router.include_router(_module.router)
