"""The OAuth callback (for browsers) and its API twin (for applications that receive it)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from plughub.engine.redirects import with_outcome
from plughub.exceptions import DatabaseUnavailable, PlughubError
from plughub.schemas import ConnectionInfo
from plughub.server.console.returns import console_return, forget_return
from plughub.server.models import OAuthCompleteBody
from plughub.server.pages_html import page_response, result_page
from plughub.server.security import Team

__all__ = ["router"]

router = APIRouter(tags=["oauth"])


@router.get("/oauth/callback", response_class=HTMLResponse)
@router.get("/v1/oauth/callback", response_class=HTMLResponse)
def callback(request: Request) -> Response:
    """Where providers send the browser back; completes the flow and shows the outcome.

    A connection made through a connect page whose session named a `redirect_url` sends the end
    user back there, with `connection_id` and `status` in the query; a reconnect an operator
    started from the console goes back to the connection's console page instead.
    """
    engine = request.app.state.engine
    try:
        info = engine.connections.complete_authorization(dict(request.query_params))
    except DatabaseUnavailable:
        return page_response(result_page(False, "The connection could not be saved now; try again shortly."), 503)
    except PlughubError as exc:
        # The browser made a bad request (denied, replayed, expired), whatever the provider did.
        return page_response(result_page(False, exc.message), 400)
    operator = console_return(request, info.id)
    if operator:  # a reconnect the console started: the operator goes back to the console, not to an app
        response = RedirectResponse(operator, status_code=303)
        forget_return(request, response, info.id)
        return response
    back = engine.teams.return_url(info.id)
    if back:
        return RedirectResponse(with_outcome(back, info.id, info.status.value), status_code=303)
    return page_response(result_page(True, f"{info.integration_name} is connected. You can close this window."))


@router.post("/v1/oauth/complete")
def complete(request: Request, key: Team, body: OAuthCompleteBody) -> ConnectionInfo:
    """Complete an authorization from callback parameters an application received."""
    engine = request.app.state.engine
    # The team first: another team's state is not found, and its connection stays pending.
    info = engine.connections.complete_authorization(body.params, team=key.team_id)
    return engine.connections.get(info.id, team=key.team_id)  # type: ignore[no-any-return]
