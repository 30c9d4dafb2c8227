"""The `webhooks` and `triggers` keys of a definition (DESIGN.md §10) as pydantic models.

`webhooks` says how the provider signs and labels what it sends; each trigger is either a
`webhook` (the provider posts events) or a `poll` (plughub runs a list action and emits new
items). What the models cannot check alone (actions that exist, template variables, config
inputs) is checked by `trigger_checks`.
"""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from plughub.engine.catalog.strict import StrictModel

__all__ = [
    "DEFAULT_POLL_INTERVAL",
    "DEFAULT_TOLERANCE",
    "VERIFY_METHODS",
    "ChallengeSpec",
    "ConditionSpec",
    "ConfigInputSpec",
    "LocatorSpec",
    "PollTriggerSpec",
    "SubscribeSpec",
    "TriggerSpec",
    "UnsubscribeSpec",
    "VerifySpec",
    "WebhookTriggerSpec",
    "WebhooksSpec",
]

VERIFY_METHODS = ("hmac-sha256", "hmac-sha1", "token", "stripe", "slack", "twilio", "standard-webhooks", "none")
# Stripe's, Slack's and the Standard Webhooks spec's documented window: five minutes.
DEFAULT_TOLERANCE = 300
DEFAULT_POLL_INTERVAL = 300
# Each method's headers when the definition does not name them: (signature, timestamp, id).
_DEFAULT_HEADERS: dict[str, tuple[str | None, str | None, str | None]] = {
    "stripe": ("Stripe-Signature", None, None),
    "slack": ("X-Slack-Signature", "X-Slack-Request-Timestamp", None),
    "twilio": ("X-Twilio-Signature", None, None),
    "standard-webhooks": ("webhook-signature", "webhook-timestamp", "webhook-id"),
}
_TIMED = {"stripe", "slack", "standard-webhooks"}
_HMAC = {"hmac-sha256", "hmac-sha1"}


def _pointer(value: str | None) -> str | None:
    if value is not None and value != "" and not value.startswith("/"):
        raise ValueError(f"'{value}' is not a JSON pointer; write '/{value}' ('' is the whole document)")
    return value


class VerifySpec(StrictModel):
    """How to check a delivery's signature (`webhooks.verify`)."""

    method: Literal["hmac-sha256", "hmac-sha1", "token", "stripe", "slack", "twilio", "standard-webhooks", "none"]
    header: str | None = None
    timestamp_header: str | None = None
    id_header: str | None = None
    prefix: str = ""
    encoding: Literal["hex", "base64"] | None = None
    secret: str | None = None
    tolerance: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _fits_the_method(self) -> VerifySpec:
        method = self.method
        if method == "none":
            given = [
                k
                for k in ("header", "timestamp_header", "id_header", "encoding", "secret", "tolerance")
                if getattr(self, k)
            ]
            if given or self.prefix:
                raise ValueError(f"method none checks nothing: drop {', '.join(given or ['prefix'])}")
            return self
        if not self.secret:
            raise ValueError(f"method {method} needs secret (e.g. ${{subscription.webhook_secret}})")
        if method in _HMAC | {"token"} and not self.header:
            raise ValueError(f"method {method} needs header: the header that carries the signature")
        if self.tolerance is not None and method not in _TIMED:
            raise ValueError(f"tolerance applies to stripe, slack and standard-webhooks, not {method}")
        if self.encoding is not None and method not in _HMAC:
            raise ValueError(f"encoding applies to hmac-sha256 and hmac-sha1, not {method}")
        if self.prefix and method not in _HMAC:
            raise ValueError(f"prefix applies to hmac-sha256 and hmac-sha1, not {method}")
        if self.timestamp_header and method not in ("slack", "standard-webhooks"):
            raise ValueError(f"timestamp_header applies to slack and standard-webhooks, not {method}")
        if self.id_header and method != "standard-webhooks":
            raise ValueError(f"id_header applies to standard-webhooks, not {method}")
        return self

    @property
    def signature_header(self) -> str:
        """The header that carries the signature (the method's default unless `header` is set)."""
        return self.header or _DEFAULT_HEADERS.get(self.method, (None, None, None))[0] or ""

    @property
    def effective_timestamp_header(self) -> str:
        """The header that carries the time (slack, standard-webhooks)."""
        return self.timestamp_header or _DEFAULT_HEADERS.get(self.method, (None, None, None))[1] or ""

    @property
    def effective_id_header(self) -> str:
        """The header that carries the message id (standard-webhooks)."""
        return self.id_header or _DEFAULT_HEADERS.get(self.method, (None, None, None))[2] or ""

    @property
    def effective_tolerance(self) -> int:
        """How far from now, in seconds, a signed time may be."""
        return self.tolerance or DEFAULT_TOLERANCE


class LocatorSpec(StrictModel):
    """Where a value is in a delivery: a `header`, or a JSON `pointer` into the body."""

    header: str | None = None
    pointer: str | None = None

    _check_pointer = field_validator("pointer")(_pointer)

    @model_validator(mode="after")
    def _exactly_one(self) -> LocatorSpec:
        if (self.header is None) == (self.pointer is None):
            raise ValueError("give exactly one of header or pointer")
        return self


class ConditionSpec(StrictModel):
    """A test on a JSON document: the value at `pointer` `equals` a value, is `in` a list, or `exists`.

    Values may be templates (`${config.channel}`); a value that is exactly one variable takes the
    variable's value as it is (a list stays a list).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    pointer: str
    equals: Any = None
    in_: list[Any] | str | None = Field(default=None, alias="in")
    exists: bool | None = None

    _check_pointer = field_validator("pointer")(_pointer)

    @model_validator(mode="after")
    def _exactly_one(self) -> ConditionSpec:
        given = [k for k, v in (("equals", self.equals), ("in", self.in_), ("exists", self.exists)) if v is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of equals, in or exists")
        return self


class ChallengeSpec(StrictModel):
    """A provider's endpoint check (Slack's `url_verification`): answered, never stored as an event.

    When a delivery (verified like any other) matches `when`, plughub answers 200 with the value
    at `pointer` as `text/plain`.
    """

    pointer: str
    when: ConditionSpec

    _check_pointer = field_validator("pointer")(_pointer)


class WebhooksSpec(StrictModel):
    """How the provider signs and labels its deliveries (integration-wide)."""

    verify: VerifySpec
    body: Literal["json", "form"] = "json"
    event_type: LocatorSpec | None = None
    delivery_id: LocatorSpec | None = None
    challenge: ChallengeSpec | None = None


class ConfigInputSpec(BaseModel):
    """A value the subscriber gives: a JSON Schema property plus `required` and `secret`."""

    model_config = ConfigDict(extra="allow", frozen=True)

    # A list is JSON Schema's own `required` for an object value; a boolean is plughub's.
    required: bool | list[str] = False
    secret: bool = False

    @property
    def is_required(self) -> bool:
        """Whether the subscriber must give this value."""
        return self.required is True

    def json_schema(self) -> dict[str, Any]:
        """Return the JSON Schema of this value, without plughub's own keys."""
        schema = dict(self.model_extra or {})
        if isinstance(self.required, list):
            schema["required"] = list(self.required)
        if self.secret:
            schema["writeOnly"] = True
        return schema


class SubscribeSpec(StrictModel):
    """Register the webhook at the provider by running one of the integration's actions."""

    action: str
    inputs: dict[str, Any] = Field(default_factory=dict)
    provider_id: str | None = None
    webhook_secret: str | None = None

    _check_pointers = field_validator("provider_id", "webhook_secret")(_pointer)


class UnsubscribeSpec(StrictModel):
    """Remove the webhook at the provider when the subscription goes."""

    action: str
    inputs: dict[str, Any] = Field(default_factory=dict)


class _TriggerBase(StrictModel):
    model_config = ConfigDict(extra="forbid", frozen=True, ignored_types=(cached_property,))

    display_name: str
    description: str = ""
    config: dict[str, ConfigInputSpec] = Field(default_factory=dict)
    filter: ConditionSpec | None = None

    @cached_property
    def config_schema(self) -> dict[str, Any]:
        """The config inputs as one JSON Schema object with a `required` list."""
        return {
            "type": "object",
            "properties": {name: spec.json_schema() for name, spec in self.config.items()},
            "required": [name for name, spec in self.config.items() if spec.is_required],
            "additionalProperties": False,
        }


class WebhookTriggerSpec(_TriggerBase):
    """A trigger the provider pushes: deliveries of the listed event types."""

    type: Literal["webhook"]
    events: list[str] = Field(default_factory=list)
    subscribe: SubscribeSpec | None = None
    unsubscribe: UnsubscribeSpec | None = None

    @model_validator(mode="after")
    def _unsubscribe_needs_subscribe(self) -> WebhookTriggerSpec:
        if self.unsubscribe is not None and self.subscribe is None:
            raise ValueError("unsubscribe without subscribe: plughub cannot remove what it did not register")
        return self


class PollTriggerSpec(_TriggerBase):
    """A trigger plughub polls: the action's items, one event per identity not seen before."""

    type: Literal["poll"]
    action: str
    inputs: dict[str, Any] = Field(default_factory=dict)
    items: str | None = None
    id: str
    interval: int = Field(default=DEFAULT_POLL_INTERVAL, ge=1)

    _check_pointers = field_validator("items", "id")(_pointer)


TriggerSpec = Annotated[WebhookTriggerSpec | PollTriggerSpec, Field(discriminator="type")]
