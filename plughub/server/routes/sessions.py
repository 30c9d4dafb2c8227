"""`/v1/connect-sessions`: single-use hosted connect pages for an application's end users."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request

from plughub.exceptions import UnsupportedScheme
from plughub.server.models import ConnectSessionCreated, ConnectSessionRequest
from plughub.server.security import Team

__all__ = ["SESSION_TTL", "router"]

router = APIRouter(prefix="/v1/connect-sessions", tags=["connect sessions"])
SESSION_TTL = timedelta(minutes=30)


@router.post("", status_code=201)
def create_session(request: Request, key: Team, body: ConnectSessionRequest) -> ConnectSessionCreated:
    """Create a connect page for one end user; the URL works once, for 30 minutes.

    With `redirect_url` (on the team's allowed redirect URLs, else 422), the end user lands there
    once connected, with `connection_id` and `status` added to its query.
    """
    engine = request.app.state.engine
    info = engine.integrations.get(body.integration_id, team=key.team_id)
    supported = info.authentication_methods
    wanted = [s.value for s in body.schemes] if body.schemes else supported
    refused = [s for s in wanted if s not in supported]
    if refused:
        raise UnsupportedScheme(
            f"{info.name} does not support {', '.join(refused)}; it supports {', '.join(supported)}",
            details={"supported": supported},
        )
    token, expires_at = engine.teams.create_connect_session(
        key.team_id, info.id, wanted, body.end_user_id, SESSION_TTL, redirect_url=body.redirect_url
    )
    return ConnectSessionCreated(url=f"{request.app.state.settings.base_url}/connect/{token}", expires_at=expires_at)
