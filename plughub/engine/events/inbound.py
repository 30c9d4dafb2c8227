"""Inbound webhooks: token -> subscription, signature checked, event stored, then answered.

The provider's timeout is short (GitHub 10 s, Slack 3 s): the answer comes as soon as the event
(and its pending delivery, in the same transaction) is stored; delivery happens after. A bad or
missing signature is 401 and nothing is stored; a repeated delivery id is 200 and stored once;
Slack's `url_verification` is answered with its challenge and not stored.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from sqlalchemy.exc import IntegrityError

from plughub.config import Settings
from plughub.engine.catalog import Catalog
from plughub.engine.catalog.models import IntegrationSpec
from plughub.engine.catalog.templates import render, variables
from plughub.engine.catalog.triggers import LocatorSpec, WebhookTriggerSpec
from plughub.engine.credentials import Credentials
from plughub.engine.events.sealed import SubscriptionSecrets, webhook_url
from plughub.engine.events.signatures import SignedRequest, verify_signature
from plughub.engine.events.values import matches
from plughub.engine.json_pointer import MISSING, resolve
from plughub.engine.oauth.apps import OAuthApps
from plughub.engine.store import Store, digest
from plughub.engine.store.events import NewEvent
from plughub.engine.store.subscriptions import DELETING, SubscriptionRecord, subscription_record_id

__all__ = ["Inbound", "InboundAnswer", "new_event_id"]

logger = logging.getLogger("plughub.events")


def new_event_id() -> str:
    """A new event id (`evt_` and 24 hex characters); also the `webhook-id` of its deliveries."""
    return "evt_" + secrets.token_hex(12)


@dataclass(frozen=True)
class InboundAnswer:
    """What to answer the provider.

    Attributes:
        status: The HTTP status.
        body: A JSON body, or text for a challenge.
        content_type: `application/json` or `text/plain`.
        stored: The ids of the events stored (to deliver).
        subscription_id: Their subscription (when some were stored).
    """

    status: int
    body: Any
    content_type: str = "application/json"
    stored: list[str] = field(default_factory=list)
    subscription_id: str | None = None


def _error(status: int, code: str, message: str) -> InboundAnswer:
    return InboundAnswer(status, {"error": code, "message": message, "details": {}})


_NOT_FOUND = _error(404, "not_found", "no webhook at this URL")


class Inbound:
    """Receives the providers' webhooks.

    Args:
        catalog: The definitions (`webhooks`, triggers).
        store: Subscriptions and events.
        credentials: Opens the subscription's secrets (and the connection's, for `${credentials.x}`).
        oauth_apps: `${app.signing_secret}` and the like.
        settings: The public URL (Twilio signs the URL it posted to).
    """

    def __init__(
        self, *, catalog: Catalog, store: Store, credentials: Credentials, oauth_apps: OAuthApps, settings: Settings
    ) -> None:
        self._catalog = catalog
        self._store = store
        self._credentials = credentials
        self._oauth_apps = oauth_apps
        self._settings = settings

    def __repr__(self) -> str:
        return "Inbound()"

    def receive(self, token: str, body: bytes, headers: Mapping[str, str], query: str = "") -> InboundAnswer:
        """Check and store one webhook delivery.

        Args:
            token: The token of the webhook URL.
            body: The exact body bytes.
            headers: The request headers.
            query: The URL's query string, if any.

        Returns:
            The answer: 200 (stored, a repeat, ignored, or a challenge), 400 (not JSON or form
            where the definition expects it), 401 (bad, missing or stale signature), 404 (no
            such webhook).
        """
        found = self._subscription(token)
        if found is None or found.kind != "webhook" or found.status == DELETING:
            return _NOT_FOUND
        if self._store.connections.get(found.connection_id) is None:  # its connection is being deleted
            return _NOT_FOUND
        spec = self._catalog.spec(found.integration_id, found.team_id)
        trigger = spec.triggers.get(found.trigger)
        if spec.webhooks is None or not isinstance(trigger, WebhookTriggerSpec):
            return _NOT_FOUND
        sealed = self._credentials.read(subscription_record_id(found.id))
        if not sealed:  # deleted by another process since this one cached the row
            return _NOT_FOUND
        opened = SubscriptionSecrets.of(sealed)
        url = webhook_url(self._settings, token) + (f"?{query}" if query else "")
        secret = self._secret(spec, found, opened)
        verdict = verify_signature(spec.webhooks.verify, SignedRequest(body, headers, url), secret=secret)
        if not verdict:
            logger.info("webhook for %s refused: %s", found.id, verdict.message)
            return _error(401, "invalid_signature", verdict.message)
        data = _parse(body, spec.webhooks.body)
        if data is None:
            expected = "JSON" if spec.webhooks.body == "json" else "a form"
            return _error(400, "invalid_body", f"the body is not {expected}")
        challenge = spec.webhooks.challenge
        if challenge is not None and matches(challenge.when, data, {}):
            answer = resolve(data, challenge.pointer)
            return InboundAnswer(200, "" if answer is MISSING else str(answer), "text/plain")
        event_type = _locate(spec.webhooks.event_type, headers, data)
        if event_type is None:
            event_type = trigger.events[0] if len(trigger.events) == 1 else found.trigger
        if trigger.events and event_type not in trigger.events:
            return InboundAnswer(200, {"received": False, "reason": f"event type {event_type} is not this trigger's"})
        values = {"config": {**found.config, **opened.config}, "connection_config": self._connection_config(found)}
        if trigger.filter is not None and not matches(trigger.filter, data, values):
            return InboundAnswer(200, {"received": False, "reason": "the trigger's filter does not match"})
        delivery_id = _locate(spec.webhooks.delivery_id, headers, data)
        event = NewEvent(new_event_id(), event_type, data, delivery_id)
        try:
            stored = self._store.events.store(found.id, [event], deliver=bool(found.target_url))
        except IntegrityError:  # the subscription was deleted a moment ago
            return _NOT_FOUND
        if not stored:
            return InboundAnswer(200, {"received": True, "duplicate": True})
        delivered = stored if found.target_url else []
        return InboundAnswer(200, {"received": True, "id": event.id}, stored=delivered, subscription_id=found.id)

    def _subscription(self, token: str) -> SubscriptionRecord | None:
        if not token or len(token) > 200:
            return None
        token_hash = digest(token)
        return self._store.db.cache.get(
            ("subscription-token", token_hash), lambda: self._store.subscriptions.by_token_hash(token_hash)
        )

    def _connection_config(self, found: SubscriptionRecord) -> dict[str, Any]:
        record = self._store.connections.get(found.connection_id, include_deleting=True)
        return dict(record.config) if record is not None else {}

    def _secret(self, spec: IntegrationSpec, found: SubscriptionRecord, opened: SubscriptionSecrets) -> str | None:
        assert spec.webhooks is not None  # noqa: S101 - checked by the caller
        template = spec.webhooks.verify.secret
        if not template:
            return None
        spaces = {namespace for namespace, _ in variables(template)}
        values: dict[str, dict[str, Any]] = {
            "subscription": {"webhook_secret": opened.webhook_secret, "id": found.id},
            "config": {**found.config, **opened.config},
        }
        if "app" in spaces:
            values["app"] = self._oauth_apps.signing_values(found.integration_id, found.team_id)
        if "credentials" in spaces:
            values["credentials"] = self._credentials.read(found.connection_id)
        if "connection_config" in spaces:
            values["connection_config"] = self._connection_config(found)
        try:
            return render(template, values)
        except ValueError:  # the secret is not set (an app without a signing secret): nothing verifies
            return None


def _parse(body: bytes, kind: str) -> Any:
    if kind == "form":
        try:
            pairs = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
        except (UnicodeDecodeError, ValueError):
            return None
        return {k: v[0] if len(v) == 1 else v for k, v in pairs.items()}
    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return None


def _locate(locator: LocatorSpec | None, headers: Mapping[str, str], data: Any) -> str | None:
    if locator is None:
        return None
    if locator.header is not None:
        value = SignedRequest(b"", headers).header(locator.header)
        return value[:200] if value else None
    found = resolve(data, locator.pointer or "")
    return None if found is MISSING or found is None or isinstance(found, (dict, list)) else str(found)[:200]
