"""Describe a stored connection for callers: secrets masked, token metadata shown."""

from __future__ import annotations

from datetime import datetime, timezone

from plughub.engine.catalog import Catalog
from plughub.engine.credentials import Credentials
from plughub.engine.redact import mask
from plughub.engine.store import ConnectionRecord
from plughub.enums import AuthenticationSchema, ConnectionStatus, FunctionType
from plughub.schemas import ConnectionInfo

__all__ = ["describe"]

# Shown as metadata, not as credentials.
_TOKEN_METADATA = frozenset({"expires_at", "scope", "token_type"})
# What an OAuth provider returns beside the tokens that is not secret (client id, user id, name).
_PUBLIC_TOKEN_FIELDS = frozenset({"client_id", "user_id", "screen_name", "username"})


def describe(
    record: ConnectionRecord, catalog: Catalog, credentials: Credentials, *, with_credentials: bool
) -> ConnectionInfo:
    """Describe a connection.

    Args:
        record: The connection.
        catalog: Its integration's definition (its name, which credential fields are secret).
        credentials: Opens its credentials.
        with_credentials: Include the masked credentials and token metadata.

    Returns:
        The description; no secret appears in it.
    """
    name = record.integration_id
    masked: dict[str, str] = {}
    scopes: list[str] = []
    expires_at: datetime | None = None
    function_type = FunctionType.CONNECTION
    if catalog.contains(record.integration_id, record.team_id):
        spec = catalog.spec(record.integration_id, record.team_id)
        name = spec.display_name
        if spec.protocol == "mcp":
            function_type = FunctionType.MCP_CONNECTION
        auth = spec.auth_for(AuthenticationSchema(record.scheme))
        if with_credentials and auth is not None:
            opened = credentials.read(record.id)
            fields = auth.credential_fields()
            for key, value in opened.items():
                if key in _TOKEN_METADATA:
                    continue
                field = fields.get(key)
                shown = (field is not None and field.secret is False) or key in _PUBLIC_TOKEN_FIELDS
                masked[key] = str(value) if shown else mask(value)
            scopes = str(opened.get("scope") or "").split()
            if opened.get("expires_at"):
                expires_at = datetime.fromtimestamp(float(opened["expires_at"]), timezone.utc)
    return ConnectionInfo(
        id=record.id,
        integration_id=record.integration_id,
        integration_name=name,
        function_type=function_type,
        name=record.name,
        description=record.description,
        scheme=AuthenticationSchema(record.scheme),
        status=ConnectionStatus(record.status),
        config=record.config,
        credentials=masked,
        base_url=record.base_url,
        end_user_id=record.end_user_id,
        error=record.error,
        scopes=scopes,
        expires_at=expires_at,
        created_at=record.created_at,
        updated_at=record.updated_at,
    )
