"""`/console/keys`: the team's API keys (a new key is shown once; revoke)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from plughub.exceptions import InvalidInput, NotFoundError
from plughub.server.console.session import PATH, ConsoleRoute, Operator, check_csrf, page

__all__ = ["router"]

router = APIRouter(prefix=f"{PATH}/keys", route_class=ConsoleRoute, include_in_schema=False)


@router.get("")
def keys(request: Request, session: Operator, revoked: str = "") -> Response:
    """The team's keys, revoked ones included (never the keys themselves)."""
    listed = request.app.state.engine.teams.list_api_keys(session.team_id)
    return page(request, session, "keys.html", keys=listed, current=session.key_id, revoked=revoked)


@router.post("")
def create(
    request: Request, session: Operator, csrf_token: Annotated[str, Form()] = "", name: Annotated[str, Form()] = ""
) -> Response:
    """Create a key and show it, once."""
    check_csrf(session.csrf_token, csrf_token)
    if not name.strip():
        raise InvalidInput("give the key a name that says what it is for")
    record, key = request.app.state.engine.teams.create_api_key(session.team_id, name.strip()[:200])
    return page(request, session, "key_created.html", 201, record=record, key=key)


@router.post("/{key_id}/revoke")
def revoke(request: Request, session: Operator, key_id: str, csrf_token: Annotated[str, Form()] = "") -> Response:
    """Revoke one of the team's keys (revoking the key you signed in with signs you out)."""
    check_csrf(session.csrf_token, csrf_token)
    if not request.app.state.engine.teams.revoke_api_key(key_id, session.team_id):
        raise NotFoundError(f"no active key {key_id!r} in this team")
    return RedirectResponse(f"{PATH}/keys?revoked={key_id}", status_code=303)
