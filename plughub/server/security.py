"""API key authentication: every `/v1` route (but health) belongs to the key's team."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from plughub.engine.store import ApiKeyRecord
from plughub.exceptions import AuthenticationError

__all__ = ["Team", "require_key"]


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
    header = request.headers.get("authorization", "")
    key = header[7:].strip() if header[:7].lower() == "bearer " else request.headers.get("x-api-key", "").strip()
    if not key:
        raise AuthenticationError(
            "an API key is required: send `Authorization: Bearer <key>` (create one with "
            "`plughub api-keys create --team TEAM`)"
        )
    record: ApiKeyRecord | None = request.app.state.engine.store.authenticate(key)
    if record is None:
        raise AuthenticationError("the API key is unknown or revoked")
    request.state.team = record.team_id
    return record


Team = Annotated[ApiKeyRecord, Depends(require_key)]
