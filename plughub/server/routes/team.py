"""`/v1/team`: settings of the caller's team (where connect pages may send end users back to)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from plughub.server.models import RedirectUrls
from plughub.server.security import Team

__all__ = ["router"]

router = APIRouter(prefix="/v1/team", tags=["team"])


@router.get("/redirect-urls")
def get_redirect_urls(request: Request, key: Team) -> RedirectUrls:
    """The URLs a connect session's `redirect_url` may point at (scheme, host, port and path)."""
    return RedirectUrls(redirect_urls=request.app.state.engine.teams.redirect_urls(key.team_id))


@router.put("/redirect-urls")
def set_redirect_urls(request: Request, key: Team, body: RedirectUrls) -> RedirectUrls:
    """Replace the team's allowed redirect URLs (absolute http(s), no query or fragment; [] clears)."""
    return RedirectUrls(redirect_urls=request.app.state.engine.teams.set_redirect_urls(key.team_id, body.redirect_urls))
