"""The OAuth callback (for browsers) and its API twin (for applications that receive it)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from plughub.exceptions import PlughubError
from plughub.schemas import ConnectionInfo
from plughub.server.models import OAuthCompleteBody
from plughub.server.pages_html import result_page
from plughub.server.security import Team

__all__ = ["router"]

router = APIRouter(tags=["oauth"])


@router.get("/oauth/callback", response_class=HTMLResponse)
@router.get("/v1/oauth/callback", response_class=HTMLResponse)
def callback(request: Request) -> HTMLResponse:
    """Where providers send the browser back; completes the flow and shows the outcome."""
    try:
        info = request.app.state.engine.complete_authorization(dict(request.query_params))
    except PlughubError as exc:
        # The browser made a bad request (denied, replayed, expired), whatever the provider did.
        return HTMLResponse(result_page(False, exc.message), status_code=400)
    return HTMLResponse(result_page(True, f"{info.integration_name} is connected. You can close this window."))


@router.post("/v1/oauth/complete")
def complete(request: Request, key: Team, body: OAuthCompleteBody) -> ConnectionInfo:
    """Complete an authorization from callback parameters an application received."""
    engine = request.app.state.engine
    info = engine.complete_authorization(body.params)
    return engine.get_connection(info.id, team=key.team_id)  # type: ignore[no-any-return]
