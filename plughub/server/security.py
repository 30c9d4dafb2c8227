"""API key authentication: every `/v1` route (but health) belongs to the key's team."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from plughub.engine.teams import ApiKeyRecord
from plughub.exceptions import AuthenticationError

__all__ = ["Team", "presented_key", "require_key", "required_key", "unknown_key"]


def presented_key(authorization: str, x_api_key: str) -> str:
    """The API key a request presents: `Authorization: Bearer <key>`, else `X-Api-Key: <key>`.

    Args:
        authorization: The Authorization header ("" when absent).
        x_api_key: The X-Api-Key header ("" when absent).

    Returns:
        The key, or "" when none is presented.
    """
    return authorization[7:].strip() if authorization[:7].lower() == "bearer " else x_api_key.strip()


def required_key(authorization: str, x_api_key: str) -> str:
    """The API key a request presents, which every `/v1` route (but health) needs.

    Args:
        authorization: The Authorization header ("" when absent).
        x_api_key: The X-Api-Key header ("" when absent).

    Returns:
        The key.

    Raises:
        AuthenticationError: No key is presented (the message says how to send and create one).
    """
    key = presented_key(authorization, x_api_key)
    if not key:
        raise AuthenticationError(
            "an API key is required: send `Authorization: Bearer <key>` (create one with "
            "`plughub api-keys create --team TEAM`)"
        )
    return key


def unknown_key() -> AuthenticationError:
    """The error for a presented key that is unknown or revoked.

    Returns:
        The error to raise.
    """
    return AuthenticationError("the API key is unknown or revoked")


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
    key = required_key(request.headers.get("authorization", ""), request.headers.get("x-api-key", ""))
    record: ApiKeyRecord | None = request.app.state.engine.teams.authenticate(key)
    if record is None:
        raise unknown_key()
    request.state.team = record.team_id
    return record


Team = Annotated[ApiKeyRecord, Depends(require_key)]
