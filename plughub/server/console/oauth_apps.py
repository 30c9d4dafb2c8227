"""`/console/oauth-apps`: the team's OAuth clients (client id shown, secret never); set and delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from plughub.server.console.session import PATH, ConsoleRoute, Operator, check_csrf, page

__all__ = ["router"]

router = APIRouter(prefix=f"{PATH}/oauth-apps", route_class=ConsoleRoute, include_in_schema=False)


@router.get("")
def oauth_apps(request: Request, session: Operator) -> Response:
    """The team's OAuth apps and the callback URL to register at providers."""
    engine = request.app.state.engine
    apps = engine.oauth_apps.list(team=session.team_id)
    return page(request, session, "oauth_apps.html", apps=apps, callback_url=engine.settings.callback_url)


@router.post("")
def set_app(
    request: Request,
    session: Operator,
    csrf_token: Annotated[str, Form()] = "",
    integration_id: Annotated[str, Form()] = "",
    client_id: Annotated[str, Form()] = "",
    client_secret: Annotated[str, Form()] = "",
    scopes: Annotated[str, Form()] = "",
    signing_secret: Annotated[str, Form()] = "",
) -> Response:
    """Store an integration's OAuth client (sealed); an empty signing secret keeps the stored one."""
    check_csrf(session.csrf_token, csrf_token)
    engine = request.app.state.engine
    integration = engine.integrations.get(integration_id.strip(), team=session.team_id)
    wanted = scopes.replace(",", " ").split() or None
    engine.oauth_apps.set(
        integration.id,
        client_id.strip(),
        client_secret.strip(),
        wanted,
        team=session.team_id,
        signing_secret=signing_secret.strip() or None,
    )
    return RedirectResponse(f"{PATH}/oauth-apps", status_code=303)


@router.post("/{integration_id}/delete")
def delete_app(
    request: Request, session: Operator, integration_id: str, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    """Delete the team's stored OAuth client for an integration."""
    check_csrf(session.csrf_token, csrf_token)
    request.app.state.engine.oauth_apps.delete(integration_id, team=session.team_id)
    return RedirectResponse(f"{PATH}/oauth-apps", status_code=303)
