"""API keys as the aiXplain SDK sends them: `Authorization: Token <key>` (v1) or `x-api-key` (v1 runs, v2).

The key is a plughub API key; its team scopes everything the request touches, as on `/v1`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from plughub.engine.teams import ApiKeyRecord
from plughub.server.aixplain.errors import AixplainError

__all__ = ["TeamKey", "presented_key", "require_team"]


def presented_key(request: Request) -> str:
    """The API key a request carries.

    `Authorization: Token <key>` and `Authorization: Bearer <key>` come first, then `x-api-key`.

    Args:
        request: The request.

    Returns:
        The key, or "" when there is none.
    """
    scheme, _, value = request.headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() in ("token", "bearer") and value.strip():
        return value.strip()
    return request.headers.get("x-api-key", "").strip()


def require_team(request: Request) -> ApiKeyRecord:
    """Authenticate the request's API key.

    Args:
        request: The request.

    Returns:
        The key's record; its team owns everything the request touches.

    Raises:
        AixplainError: 401 for no key, or an unknown or revoked one.
    """
    key = presented_key(request)
    if not key:
        raise AixplainError(
            401,
            "unauthorized",
            "an API key is required: set TEAM_API_KEY to a plughub API key (create one with "
            "`plughub api-keys create --team TEAM`); the SDK sends it as `Authorization: Token <key>` or `x-api-key`",
        )
    record: ApiKeyRecord | None = request.app.state.engine.teams.authenticate(key)
    if record is None:
        raise AixplainError(
            401,
            "unauthorized",
            "the API key is unknown or revoked: set TEAM_API_KEY to a live plughub API key "
            "(list them with `plughub api-keys list --team TEAM`)",
        )
    request.state.team = record.team_id
    return record


TeamKey = Annotated[ApiKeyRecord, Depends(require_team)]
