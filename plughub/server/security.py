"""API key authentication: every `/v1` route (but health) belongs to the key's team."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from plughub.engine.teams import ApiKeyRecord
from plughub.exceptions import AuthenticationError

__all__ = ["AsyncTeam", "Team", "presented_key", "require_key", "require_key_async"]


def presented_key(authorization: str, x_api_key: str) -> str:
    """The API key a request presents: `Authorization: Bearer <key>`, else `X-Api-Key: <key>`.

    Args:
        authorization: The Authorization header ("" when absent).
        x_api_key: The X-Api-Key header ("" when absent).

    Returns:
        The key, or "" when none is presented.
    """
    return authorization[7:].strip() if authorization[:7].lower() == "bearer " else x_api_key.strip()


def _presented(request: Request) -> str:
    key = presented_key(request.headers.get("authorization", ""), request.headers.get("x-api-key", ""))
    if not key:
        raise AuthenticationError(
            "an API key is required: send `Authorization: Bearer <key>` (create one with "
            "`plughub api-keys create --team TEAM`)"
        )
    return key


def _accepted(request: Request, record: ApiKeyRecord | None) -> ApiKeyRecord:
    if record is None:
        raise AuthenticationError("the API key is unknown or revoked")
    request.state.team = record.team_id
    return record


def require_key(request: Request) -> ApiKeyRecord:
    """Authenticate the request's API key.

    The key comes from `Authorization: Bearer <key>` or `X-Api-Key: <key>`.

    Args:
        request: The request.

    Returns:
        The key's record (its team scopes everything the request touches).

    Raises:
        AuthenticationError: No key, or an unknown or revoked one.
    """
    key = _presented(request)
    return _accepted(request, request.app.state.engine.teams.authenticate(key))


async def require_key_async(request: Request) -> ApiKeyRecord:
    """`require_key` on the event loop, for the asynchronous routes (the run-action route).

    Args:
        request: The request.

    Returns:
        The key's record.

    Raises:
        AuthenticationError: No key, or an unknown or revoked one.
    """
    key = _presented(request)
    return _accepted(request, await request.app.state.engine.teams.authenticate_async(key))


Team = Annotated[ApiKeyRecord, Depends(require_key)]
AsyncTeam = Annotated[ApiKeyRecord, Depends(require_key_async)]
