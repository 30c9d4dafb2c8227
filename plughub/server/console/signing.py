"""`/console/sign-in` and `/console/sign-out`: a team's API key opens a console session."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from plughub.engine.teams import CONSOLE_SESSION_TTL
from plughub.server.console.session import COOKIE, PATH, ConsoleRoute, Operator, check_csrf, set_cookie
from plughub.server.templating import render_page

__all__ = ["router"]

router = APIRouter(prefix=PATH, route_class=ConsoleRoute)
# The sign-in form has no session yet: its CSRF token is a cookie of its own (double submit).
_SIGN_IN_COOKIE = "plughub_console_sign_in"


def _sign_in_page(request: Request, status: int = 200, error: str | None = None, expired: bool = False) -> Response:
    token = secrets.token_urlsafe(32)
    response = render_page(
        "console/sign_in.html", status, team_name=None, csrf=token, path="", error=error, expired=expired
    )
    set_cookie(request, response, _SIGN_IN_COOKIE, token, max_age=3600)
    return response


@router.get("", include_in_schema=False)
def home() -> Response:
    """The console opens on the connections."""
    return RedirectResponse(f"{PATH}/connections", status_code=303)


@router.get("/sign-in", include_in_schema=False)
def sign_in_form(request: Request, expired: bool = False) -> Response:
    """The sign-in form (an API key of the team)."""
    return _sign_in_page(request, expired=expired)


@router.post("/sign-in", include_in_schema=False)
def sign_in(
    request: Request, api_key: Annotated[str, Form()] = "", csrf_token: Annotated[str, Form()] = ""
) -> Response:
    """Open a session for the key's team; an unknown or revoked key is refused."""
    check_csrf(request.cookies.get(_SIGN_IN_COOKIE, ""), csrf_token)
    opened = request.app.state.engine.teams.sign_in(api_key.strip()) if api_key.strip() else None
    if opened is None:
        return _sign_in_page(request, 401, error="That API key is unknown or revoked. Check it and try again.")
    session_id, _session = opened
    response = RedirectResponse(f"{PATH}/connections", status_code=303)
    set_cookie(request, response, COOKIE, session_id, max_age=int(CONSOLE_SESSION_TTL.total_seconds()))
    response.delete_cookie(_SIGN_IN_COOKIE, path=PATH)
    return response


@router.post("/sign-out", include_in_schema=False)
def sign_out(request: Request, session: Operator, csrf_token: Annotated[str, Form()] = "") -> Response:
    """End the session (deleted on the server, not only forgotten by the browser)."""
    check_csrf(session.csrf_token, csrf_token)
    request.app.state.engine.teams.sign_out(request.cookies.get(COOKIE, ""))
    response = RedirectResponse(f"{PATH}/sign-in", status_code=303)
    response.delete_cookie(COOKIE, path=PATH, secure=request.url.scheme == "https", httponly=True, samesite="strict")
    return response
