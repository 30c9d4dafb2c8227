"""`/console/connect-links`: hosted connect pages for end users, and where they may return to."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from plughub.exceptions import UnsupportedScheme
from plughub.server.console.session import PATH, ConsoleRoute, Operator, check_csrf, page
from plughub.server.routes.sessions import SESSION_TTL

__all__ = ["router"]

router = APIRouter(prefix=f"{PATH}/connect-links", route_class=ConsoleRoute, include_in_schema=False)


@router.get("")
def links(request: Request, session: Operator, integration: str = "") -> Response:
    """The form that creates a connect link, and the team's allowed redirect URLs."""
    allowed = request.app.state.engine.teams.redirect_urls(session.team_id)
    return page(request, session, "links.html", allowed=allowed, integration=integration)


@router.post("")
def create(
    request: Request,
    session: Operator,
    csrf_token: Annotated[str, Form()] = "",
    integration_id: Annotated[str, Form()] = "",
    end_user_id: Annotated[str, Form()] = "",
    redirect_url: Annotated[str, Form()] = "",
    schemes: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Create a single-use connect link for an end user and show it."""
    check_csrf(session.csrf_token, csrf_token)
    engine = request.app.state.engine
    info = engine.integrations.get(integration_id.strip(), team=session.team_id)
    wanted = [s for s in schemes or [] if s] or info.authentication_methods
    refused = [s for s in wanted if s not in info.authentication_methods]
    if refused:
        raise UnsupportedScheme(
            f"{info.name} does not support {', '.join(refused)}; it supports {', '.join(info.authentication_methods)}"
        )
    token, expires_at = engine.teams.create_connect_session(
        session.team_id, info.id, wanted, end_user_id.strip() or None, SESSION_TTL, redirect_url.strip() or None
    )
    url = f"{engine.settings.base_url}/connect/{token}"
    return page(request, session, "link_created.html", 201, url=url, expires_at=expires_at, info=info, schemes=wanted)


@router.post("/redirect-urls")
def set_redirect_urls(
    request: Request, session: Operator, csrf_token: Annotated[str, Form()] = "", urls: Annotated[str, Form()] = ""
) -> Response:
    """Replace the team's allowed redirect URLs (one per line)."""
    check_csrf(session.csrf_token, csrf_token)
    request.app.state.engine.teams.set_redirect_urls(session.team_id, urls.split())
    return RedirectResponse(f"{PATH}/connect-links", status_code=303)
