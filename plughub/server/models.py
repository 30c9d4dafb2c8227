"""Request bodies of the REST API (responses are the `plughub.schemas` models)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from plughub.enums import AuthenticationSchema, ConnectionStatus

__all__ = [
    "ConnectSessionCreated",
    "ConnectSessionRequest",
    "ImportBody",
    "OAuthAppBody",
    "OAuthCompleteBody",
    "ProxyBody",
    "ReconnectBody",
    "RedirectUrls",
    "RunBody",
    "RunInfo",
    "StatusInfo",
    "VerifyBody",
    "VerifyDocument",
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunBody(_Body):
    """Inputs of an action run; `paginate` reads its pages (up to `max_pages`, 10 by default)."""

    inputs: dict[str, Any] = Field(default_factory=dict)
    paginate: bool = Field(default=False, strict=True)
    max_pages: int | None = Field(default=None, ge=1, strict=True)
    page_token: str | None = Field(default=None, min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _inputs_wrapped(cls, data: Any) -> Any:
        # The usual mistake is the action's inputs sent as the body itself: say where they go.
        known = ("inputs", "paginate", "max_pages", "page_token")
        unknown = [str(k) for k in data if k not in known] if isinstance(data, dict) else []
        if unknown:
            shown = ", ".join(f'"{k}": ...' for k in unknown)
            raise PydanticCustomError(
                "unknown_field",
                'unknown {noun} {names}: put the action\'s inputs under "inputs": {example}',
                {
                    "noun": "field" if len(unknown) == 1 else "fields",
                    "names": ", ".join(repr(k) for k in unknown),
                    "example": '{"inputs": {' + shown + "}}",
                },
            )
        return data


class ProxyBody(_Body):
    """A request to send to the connection's service with its credentials.

    `body` is sent as JSON, unless `headers` give a form or a text Content-Type.
    """

    method: str = Field(min_length=1)
    path: str
    query: dict[str, Any] = Field(default_factory=dict)
    headers: dict[str, str] = Field(default_factory=dict)
    body: Any = None


class ReconnectBody(_Body):
    """Scopes for a new consent (None: the app's or the definition's)."""

    scopes: list[str] | None = None


class OAuthAppBody(_Body):
    """An integration's OAuth client."""

    client_id: str = Field(min_length=1)
    client_secret: str = Field(min_length=1, repr=False)
    scopes: list[str] | None = None
    # The secrets the provider signs the app's webhooks with (Slack's signing secret); None keeps
    # the stored one, "" removes it.
    signing_secret: str | None = Field(None, repr=False)
    webhook_secret: str | None = Field(None, repr=False)


class OAuthCompleteBody(_Body):
    """The query parameters of an OAuth callback an application received."""

    params: dict[str, str]


class StatusInfo(BaseModel):
    """A connection's status."""

    id: str
    status: ConnectionStatus
    error: str | None = None


class RunInfo(BaseModel):
    """One audited action run."""

    action: str
    status: str
    upstream_status: int | None = None
    error_code: str | None = None
    duration_ms: float
    created_at: datetime


class ConnectSessionRequest(_Body):
    """Ask for a hosted connect page for one end user."""

    integration_id: str
    schemes: list[AuthenticationSchema] | None = None
    end_user_id: str | None = None
    name: str | None = None
    redirect_url: str | None = Field(default=None, min_length=1)


class RedirectUrls(_Body):
    """Where a team's connect pages may send end users back to (a session's `redirect_url`)."""

    redirect_urls: list[str]


class ConnectSessionCreated(BaseModel):
    """A single-use connect page."""

    url: str
    expires_at: datetime


class ImportBody(_Body):
    """An OpenAPI document (or its URL) to import as an integration."""

    document: dict[str, Any] | None = None
    url: str | None = None
    id: str | None = None
    name: str | None = None
    base_url: str | None = None
    include: list[str] | None = None
    exclude: list[str] | None = None


class VerifyDocument(_Body):
    """A vendor's OpenAPI document, inline (`document`) or by address (`url`)."""

    name: str | None = None
    document: dict[str, Any] | None = None
    url: str | None = None


class VerifyBody(_Body):
    """The documents to check an integration against (their operations together)."""

    documents: list[VerifyDocument] = Field(min_length=1)
