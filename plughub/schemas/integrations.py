"""What the SDK learns about an integration: its schemes and the inputs each one asks for."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from plughub.enums import AuthenticationSchema

__all__ = [
    "ActionSummary",
    "AuthSchemeInfo",
    "ImportReport",
    "InputField",
    "IntegrationInfo",
    "TriggerInfo",
    "VerifyFinding",
    "VerifyReport",
]


class InputField(BaseModel):
    """One input a user gives: a connect input or an action input.

    `code` is the key in the `data` dict; `name` is a readable label.
    """

    code: str
    name: str
    description: str = ""
    datatype: str = "string"
    required: bool = True
    secret: bool = False
    default: Any = None
    enum: list[Any] | None = None
    pattern: str | None = None
    location: str | None = None
    json_schema: dict[str, Any] = Field(default_factory=dict)


class AuthSchemeInfo(BaseModel):
    """A scheme an integration supports and the connect inputs it needs."""

    scheme: AuthenticationSchema
    inputs: list[InputField] = Field(default_factory=list)
    scopes: list[str] = Field(default_factory=list)


class ActionSummary(BaseModel):
    """An action as the catalog lists it; a connection's `ActionInfo` adds its inputs."""

    code: str
    name: str
    description: str = ""


class TriggerInfo(BaseModel):
    """A trigger of an integration (DESIGN.md §10), as the catalog describes it.

    `config` lists what a subscriber gives (`config_schema` is the same as one JSON Schema);
    `subscribes` says whether plughub registers the webhook at the provider itself (otherwise the
    user registers the subscription's webhook URL by hand); `interval` is a poll's period in seconds.
    """

    code: str
    name: str
    description: str = ""
    type: Literal["webhook", "poll"]
    events: list[str] = Field(default_factory=list)
    config: list[InputField] = Field(default_factory=list)
    config_schema: dict[str, Any] = Field(default_factory=dict)
    subscribes: bool = False
    interval: int | None = None


class IntegrationInfo(BaseModel):
    """The public description of an integration.

    `actions` lists the definition's actions; an MCP server's are known only once connected.
    `triggers` lists what a connection can tell about (webhooks the provider sends, or polls).
    """

    id: str
    name: str
    description: str = ""
    supplier: str = "plughub"
    categories: list[str] = Field(default_factory=list)
    docs: str | None = None
    base_url: str | None = None
    auth_schemes: list[AuthSchemeInfo] = Field(default_factory=list)
    action_count: int = 0
    actions: list[ActionSummary] = Field(default_factory=list)
    triggers: list[TriggerInfo] = Field(default_factory=list)
    source: str = "bundled"

    @property
    def authentication_methods(self) -> list[str]:
        """Names of the supported schemes, in the definition's order."""
        return [s.scheme.value for s in self.auth_schemes]

    def scheme(self, scheme: AuthenticationSchema) -> AuthSchemeInfo | None:
        """Find a supported scheme.

        Args:
            scheme: The scheme asked for.

        Returns:
            Its description, or None when the integration does not support it.
        """
        return next((s for s in self.auth_schemes if s.scheme is scheme), None)


class ImportReport(BaseModel):
    """What an OpenAPI import made: the definition, and what it approximated or left out."""

    definition: dict[str, Any]
    integration: IntegrationInfo | None = None
    operations: int = 0
    actions: int = 0
    warnings: list[str] = Field(default_factory=list)
    skipped: list[str] = Field(default_factory=list)


class VerifyFinding(BaseModel):
    """One way an action differs from the vendor's OpenAPI document.

    `kind` is one of `route_unknown`, `parameter_unknown`, `parameter_misplaced`,
    `required_missing`, `body_property_unknown`, `body_encoding`. `accepted` is the reason the
    definition's `verified_against.exceptions` records for the action, when it records one.
    """

    action: str
    kind: str
    message: str
    accepted: str | None = None


class VerifyReport(BaseModel):
    """What `IntegrationFactory.verify` found: findings (the check fails on any) and accepted ones."""

    integration: str
    documents: list[str] = Field(default_factory=list)
    actions: int = 0
    findings: list[VerifyFinding] = Field(default_factory=list)
    accepted: list[VerifyFinding] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when there is no finding (accepted ones do not count)."""
        return not self.findings
