"""The definition format (DESIGN.md §4) as pydantic models; a union discriminated on `mode`."""

from __future__ import annotations

import re
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from plughub.engine.catalog.pagination import (
    CursorPagination,
    LinkPagination,
    NextUrlPagination,
    OffsetPagination,
    PagePagination,
    PaginationSpec,
)
from plughub.engine.catalog.strict import StrictModel
from plughub.engine.catalog.triggers import ConditionSpec, TriggerSpec, WebhooksSpec
from plughub.engine.json_pointer import check_pointer
from plughub.enums import AuthenticationSchema

__all__ = [
    "ActionSpec",
    "ApiKeySpec",
    "ApplySpec",
    "AuthSpec",
    "BasicPair",
    "BasicSpec",
    "BearerSpec",
    "CursorPagination",
    "FieldSpec",
    "InputSpec",
    "IntegrationSpec",
    "LinkPagination",
    "NextUrlPagination",
    "NoAuthSpec",
    "OAuth1Spec",
    "OAuth2Spec",
    "OffsetPagination",
    "PagePagination",
    "PaginationSpec",
    "ResponseSpec",
    "VerifiedAgainstSpec",
]

INPUT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
ID_PATTERN = r"^[a-z0-9][a-z0-9-]*$"


class FieldSpec(StrictModel):
    """A connect input: a credential (secret by default) or a connection config value."""

    type: Literal["string", "integer", "number", "boolean"] = "string"
    title: str | None = None
    description: str = ""
    secret: bool | None = None
    pattern: str | None = None
    enum: list[Any] | None = None
    default: Any = None
    example: Any = None
    optional: bool = False

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return value

    @property
    def required(self) -> bool:
        """Whether connect must receive a value for this field."""
        return not self.optional and self.default is None

    def json_schema(self) -> dict[str, Any]:
        """Return the field as a JSON Schema property."""
        schema: dict[str, Any] = {"type": self.type}
        for key in ("title", "description", "pattern", "enum", "default"):
            value = getattr(self, key)
            if value not in (None, ""):
                schema[key] = value
        return schema


class BasicPair(StrictModel):
    """Templates for the two halves of HTTP Basic credentials."""

    username: str
    password: str = ""


class ApplySpec(StrictModel):
    """Where a credential goes: exactly one of header, query, cookie or basic."""

    header: str | None = None
    query: str | None = None
    cookie: str | None = None
    basic: BasicPair | None = None
    format: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ApplySpec:
        targets = [k for k in ("header", "query", "cookie", "basic") if getattr(self, k) is not None]
        if len(targets) != 1:
            raise ValueError("an apply item needs exactly one of header, query, cookie or basic")
        if self.basic is not None and self.format is not None:
            raise ValueError("format does not apply to basic; template username and password instead")
        return self


class _AuthBase(StrictModel):
    mode: str
    credentials: dict[str, FieldSpec] = Field(default_factory=dict)
    apply: ApplySpec | list[ApplySpec] | None = None

    @property
    def scheme(self) -> AuthenticationSchema:
        """The `AuthenticationSchema` member of this entry."""
        return AuthenticationSchema(self.mode)

    def apply_items(self) -> list[ApplySpec]:
        """Return the apply items, defaults filled in."""
        items = self.apply if isinstance(self.apply, list) else [self.apply] if self.apply else []
        return items or self._default_apply()

    def _default_apply(self) -> list[ApplySpec]:
        return []

    def credential_fields(self) -> dict[str, FieldSpec]:
        """Return the credential fields, defaults filled in."""
        return self.credentials


class OAuth2Spec(_AuthBase):
    """OAuth 2.0: authorization code (with PKCE by default) or client credentials.

    `discovery: mcp` (an MCP integration's entry) names no endpoints: each connection discovers
    them from its server, as the MCP authorization spec says (protected resource metadata, then
    the authorization server's metadata).
    """

    mode: Literal["OAUTH2"]
    discovery: Literal["mcp"] | None = None
    authorization_url: str | None = None
    # Required unless discovered; a validator says so (with the key's name) rather than the type.
    token_url: str = Field(default="", validate_default=True)
    revocation_url: str | None = None
    default_scopes: list[str] = Field(default_factory=list)
    scope_separator: str = " "
    pkce: bool = True
    # `none`: a public client (RFC 6749 §2.3), which sends its client_id and no secret.
    token_request_auth_method: Literal["basic", "post", "none"] = "basic"
    authorization_params: dict[str, str] = Field(default_factory=dict)
    token_params: dict[str, str] = Field(default_factory=dict)
    grant_type: Literal["authorization_code", "client_credentials"] = "authorization_code"
    refresh_margin: int = 60
    issuer: str | None = None
    # RFC 9207: the provider puts `iss` in every callback, so a callback without it is refused.
    issuer_in_callback: bool = False

    @field_validator("token_url")
    @classmethod
    def _token_url_unless_discovered(cls, value: str, info: ValidationInfo) -> str:
        discovered = info.data.get("discovery") is not None
        if discovered and value:
            raise ValueError("discovery finds the token endpoint: leave token_url out")
        if not discovered and not value:
            raise ValueError("Field required: the token endpoint (or `discovery: mcp` in an MCP integration)")
        return value

    @model_validator(mode="after")
    def _needs_authorize_url(self) -> OAuth2Spec:
        if self.discovery is not None:
            named = [k for k in ("authorization_url", "revocation_url", "issuer") if getattr(self, k)]
            if named:
                raise ValueError(f"discovery finds the endpoints: leave {', '.join(named)} out")
            if self.grant_type != "authorization_code":
                raise ValueError("discovery works with grant_type authorization_code only")
            return self
        if self.grant_type == "authorization_code" and not self.authorization_url:
            raise ValueError("authorization_url is required for grant_type authorization_code")
        return self


class OAuth1Spec(_AuthBase):
    """OAuth 1.0a (RFC 5849): request token, authorize, access token."""

    mode: Literal["OAUTH1"]
    request_token_url: str
    authorization_url: str
    access_token_url: str
    signature_method: Literal["HMAC-SHA1", "RSA-SHA1", "PLAINTEXT"] = "HMAC-SHA1"
    authorization_params: dict[str, str] = Field(default_factory=dict)


class ApiKeySpec(_AuthBase):
    """An API key, sent in a header (default `X-Api-Key`), a query parameter or a cookie."""

    mode: Literal["API_KEY"]

    def credential_fields(self) -> dict[str, FieldSpec]:  # noqa: D102
        return self.credentials or {"api_key": FieldSpec(description="API key", secret=True)}

    def _default_apply(self) -> list[ApplySpec]:
        return [ApplySpec(header="X-Api-Key")]


class BearerSpec(_AuthBase):
    """A bearer token sent as `Authorization: Bearer <token>` unless `apply` says otherwise."""

    mode: Literal["BEARER_TOKEN"]

    def credential_fields(self) -> dict[str, FieldSpec]:  # noqa: D102
        return self.credentials or {"token": FieldSpec(description="Access token", secret=True)}

    def _default_apply(self) -> list[ApplySpec]:
        return [ApplySpec(header="Authorization", format="Bearer ${credentials.token}")]


class BasicSpec(_AuthBase):
    """HTTP Basic with a username and a password unless the definition says otherwise."""

    mode: Literal["BASIC"]

    def credential_fields(self) -> dict[str, FieldSpec]:  # noqa: D102
        return self.credentials or {
            "username": FieldSpec(description="Username", secret=False),
            "password": FieldSpec(description="Password", secret=True),
        }

    def _default_apply(self) -> list[ApplySpec]:
        pair = BasicPair(username="${credentials.username}", password="${credentials.password}")
        return [ApplySpec(basic=pair)]


class NoAuthSpec(_AuthBase):
    """A public API: nothing to apply."""

    mode: Literal["NO_AUTH"]


AuthSpec = Annotated[
    OAuth2Spec | OAuth1Spec | ApiKeySpec | BearerSpec | BasicSpec | NoAuthSpec,
    Field(discriminator="mode"),
]


class InputSpec(BaseModel):
    """An action input: a JSON Schema property plus where it goes (`in`) and `required`."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)

    location: Literal["path", "query", "header", "body"] | None = Field(default=None, alias="in")
    # A list is JSON Schema's own `required` for an object input; a boolean is plughub's.
    required: bool | list[str] = False
    alias: str | None = None
    explode: bool = True
    # The input's value is the whole request body (an array, a string, a free-form object).
    root: bool = False

    @property
    def is_required(self) -> bool:
        """Whether the action needs this input."""
        return self.required is True

    def json_schema(self) -> dict[str, Any]:
        """Return the JSON Schema of this input, without plughub's own keys."""
        schema = dict(self.model_extra or {})
        if isinstance(self.required, list):
            schema["required"] = list(self.required)
        return schema


class ResponseSpec(StrictModel):
    """When a 2xx answer is a failure (`response`, integration-wide or per action; DESIGN.md §9).

    Slack answers HTTP 200 `{"ok": false, "error": "channel_not_found"}`, GraphQL APIs HTTP 200
    with an `errors` list: an answer matching `error_when` is FAILED with `upstream_error`, and
    the value at `error_message` is its message.
    """

    error_when: ConditionSpec | None = None
    error_message: str | None = None

    _check_pointer = field_validator("error_message")(check_pointer)

    @model_validator(mode="after")
    def _message_needs_rule(self) -> ResponseSpec:
        if self.error_message is not None and self.error_when is None:
            raise ValueError("error_message needs error_when (which answers are errors)")
        return self


class ActionSpec(StrictModel):
    """One action: an HTTP request template and the inputs that fill it."""

    model_config = ConfigDict(extra="forbid", frozen=True, ignored_types=(cached_property,))

    display_name: str
    description: str = ""
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = "GET"
    path: str = "/"
    inputs: dict[str, InputSpec] = Field(default_factory=dict)
    body_encoding: Literal["json", "form", "multipart"] = "json"
    headers: dict[str, str] = Field(default_factory=dict)
    base_url: str | None = None
    body_root: str | None = None
    output: dict[str, Any] | None = None
    # Shared inputs (the definition's top-level `inputs`) this action takes, after its own.
    use: list[str] = Field(default_factory=list)
    response: ResponseSpec | None = None
    pagination: PaginationSpec | None = None

    @cached_property
    def root_input(self) -> str | None:
        """The input whose value is the whole body, if the action has one."""
        return next((name for name, spec in self.inputs.items() if spec.root), None)

    @cached_property
    def input_schema(self) -> dict[str, Any]:
        """The inputs as one JSON Schema object with a `required` list."""
        return {
            "type": "object",
            "properties": {name: spec.json_schema() for name, spec in self.inputs.items()},
            "required": [name for name, spec in self.inputs.items() if spec.is_required],
            "additionalProperties": False,
        }


class VerifiedAgainstSpec(StrictModel):
    """The vendor document(s) the definition was checked against (`plughub integrations verify`).

    `exceptions` lists the actions that differ from the document on purpose, each with the reason
    (the document is older than the API, or covers only part of it): verification reports them as
    accepted, not as findings.
    """

    document: str | list[str] = Field(min_length=1)
    exceptions: dict[str, str] = Field(default_factory=dict)

    @field_validator("exceptions")
    @classmethod
    def _reasons(cls, value: dict[str, str]) -> dict[str, str]:
        empty = [code for code, why in value.items() if not why.strip()]
        if empty:
            raise ValueError(f"give the reason for each exception (empty for {', '.join(empty)})")
        return value

    @property
    def documents(self) -> list[str]:
        """The document names, as a list."""
        return [self.document] if isinstance(self.document, str) else list(self.document)


class IntegrationSpec(StrictModel):
    """A whole definition file."""

    id: str = Field(pattern=ID_PATTERN)
    display_name: str
    description: str = ""
    supplier: str | None = None
    categories: list[str] = Field(default_factory=list)
    docs: str | None = None
    protocol: Literal["http", "mcp"] = "http"
    base_url: str = ""
    headers: dict[str, str] = Field(default_factory=dict)
    connection_config: dict[str, FieldSpec] = Field(default_factory=dict)
    auth: list[AuthSpec] = Field(min_length=1)
    # Inputs several actions share, by name (an action takes them with `use` or `$input`).
    inputs: dict[str, InputSpec] = Field(default_factory=dict)
    response: ResponseSpec | None = None
    actions: dict[str, ActionSpec] = Field(default_factory=dict)
    verified_against: VerifiedAgainstSpec | None = None
    webhooks: WebhooksSpec | None = None
    triggers: dict[str, TriggerSpec] = Field(default_factory=dict)

    @field_validator("verified_against")
    @classmethod
    def _exceptions_name_actions(cls, value: VerifiedAgainstSpec | None, info: ValidationInfo) -> Any:
        actions = info.data.get("actions") or {}
        unknown = sorted(set(value.exceptions) - set(actions)) if value is not None else []
        if unknown:
            raise ValueError(f"exceptions name actions the definition lacks: {', '.join(unknown)}")
        return value

    @model_validator(mode="after")
    def _protocol_needs(self) -> IntegrationSpec:
        if self.protocol == "http" and not self.base_url:
            raise ValueError("base_url is required (the service's root URL, e.g. https://api.example.com/v1)")
        if self.protocol == "mcp":
            if self.actions:
                raise ValueError("an MCP integration has no actions: its tools come from the server (tools/list)")
            for auth in self.auth:
                if "url" not in auth.credential_fields():
                    raise ValueError(f"auth {auth.mode}: an MCP integration's schemes take the server `url`")
                if isinstance(auth, OAuth2Spec) and auth.discovery != "mcp":
                    raise ValueError("auth OAUTH2: an MCP integration discovers its endpoints; say `discovery: mcp`")
        for auth in self.auth:
            if isinstance(auth, OAuth2Spec) and auth.discovery == "mcp" and self.protocol != "mcp":
                raise ValueError("auth OAUTH2: `discovery: mcp` needs `protocol: mcp`")
        return self

    def response_for(self, action: ActionSpec) -> ResponseSpec | None:
        """The response rules of an action: its own `response`, else the integration's.

        Args:
            action: One of the definition's actions.

        Returns:
            The rules, or None.
        """
        return action.response if action.response is not None else self.response

    def auth_for(self, scheme: AuthenticationSchema) -> _AuthBase | None:
        """Find the auth entry of a scheme.

        Args:
            scheme: The scheme.

        Returns:
            The entry, or None when the integration does not support the scheme.
        """
        return next((a for a in self.auth if a.mode == scheme.value), None)

    def auth_for_mode(self, mode: str) -> _AuthBase | None:
        """Find the auth entry of a mode name (`OAUTH2`).

        Args:
            mode: The mode.

        Returns:
            The entry, or None.
        """
        return next((a for a in self.auth if a.mode == mode), None)

    @property
    def action_prefix(self) -> str:
        """The prefix every action code carries (`GOOGLE_CALENDAR_` for `google-calendar`)."""
        return self.id.upper().replace("-", "_") + "_"
