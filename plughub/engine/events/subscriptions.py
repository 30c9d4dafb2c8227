"""Subscriptions: a connection's triggers switched on, listed, described, pulled from and deleted.

Subscribing checks the config like action inputs, generates the webhook token and secrets, and,
when the trigger says how, registers the webhook at the provider by running one of the
integration's actions (its answer gives the provider's id and, for some, the secret). Both
secrets are sealed and shown only in the answer that creates the subscription.
"""

from __future__ import annotations

import builtins
import logging
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from plughub.config import Settings
from plughub.engine.actions.service import ActionService
from plughub.engine.catalog import Catalog
from plughub.engine.catalog.describe import describe_trigger
from plughub.engine.catalog.models import IntegrationSpec
from plughub.engine.catalog.triggers import PollTriggerSpec, TriggerSpec, WebhookTriggerSpec
from plughub.engine.connections.service import ConnectionService
from plughub.engine.credentials import Credentials
from plughub.engine.events.signing import new_delivery_secret, new_webhook_secret
from plughub.engine.events.values import check_config, fill
from plughub.engine.json_pointer import MISSING, resolve
from plughub.engine.oauth.apps import OAuthApps
from plughub.engine.paging import check_paging, page_of
from plughub.engine.redact import mask
from plughub.engine.store import LOCAL_TEAM, ConnectionRecord, Store, digest, utcnow
from plughub.engine.store.events import EventRecord
from plughub.engine.store.subscriptions import SubscriptionRecord, subscription_record_id
from plughub.enums import ResponseStatus
from plughub.exceptions import (
    ActionError,
    EventNotFound,
    InvalidInput,
    SubscriptionNotFound,
    TriggerNotFound,
    error_class,
)
from plughub.schemas import (
    DeliveryInfo,
    EventInfo,
    Page,
    SubscribeRequest,
    SubscriptionDeleted,
    SubscriptionInfo,
    TriggerInfo,
)

__all__ = [
    "STATUSES",
    "SubscriptionSecrets",
    "Subscriptions",
    "delivery_info",
    "event_info",
    "find_trigger",
    "webhook_url",
]

logger = logging.getLogger("plughub.events")

# A subscription's statuses: `failing` while its polls fail (see `last_error`).
STATUSES = ("active", "failing")
# The longest a pull may wait for events (a REST long-poll holds a connection that long).
MAX_WAIT = 30.0
_WAIT_STEP = 0.2


@dataclass(frozen=True)
class SubscriptionSecrets:
    """A subscription's sealed values, opened."""

    token: str
    webhook_secret: str | None
    secret: str
    config: dict[str, Any]
    provider_id: Any = None

    def __repr__(self) -> str:
        return "SubscriptionSecrets(***)"

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> SubscriptionSecrets:
        """Build from the opened record."""
        return cls(
            data["token"],
            data.get("webhook_secret"),
            data["secret"],
            dict(data.get("config") or {}),
            data.get("provider_id"),
        )


def webhook_url(settings: Settings, token: str) -> str:
    """Where the provider posts a subscription's webhooks: `{PLUGHUB_PUBLIC_URL}/webhooks/<token>`."""
    return f"{settings.base_url}/webhooks/{token}"


def find_trigger(spec: IntegrationSpec, code: str) -> tuple[str, TriggerSpec]:
    """Find a trigger by code (the integration prefix may be left out).

    Args:
        spec: The integration.
        code: The code asked.

    Returns:
        The full code and the trigger.

    Raises:
        TriggerNotFound: The integration has no such trigger (the message lists those it has).
    """
    for candidate in (code, code.upper(), f"{spec.action_prefix}{code.upper()}"):
        if candidate in spec.triggers:
            return candidate, spec.triggers[candidate]
    known = ", ".join(spec.triggers) or "none"
    raise TriggerNotFound(
        f"{spec.display_name} has no trigger {code!r} (its triggers: {known})",
        details={"trigger": code, "triggers": list(spec.triggers)},
    )


class Subscriptions:
    """Subscriptions of a team's connections.

    Args:
        catalog: The integrations (their triggers).
        connections: Finds a team's connection.
        actions: Runs the subscribe and unsubscribe actions, and polls.
        store: Subscriptions and events.
        credentials: Seals the token and secrets.
        oauth_apps: `${app.client_id}` in subscribe inputs.
        settings: `PLUGHUB_PUBLIC_URL` (the webhook URL).
    """

    def __init__(
        self,
        *,
        catalog: Catalog,
        connections: ConnectionService,
        actions: ActionService,
        store: Store,
        credentials: Credentials,
        oauth_apps: OAuthApps,
        settings: Settings,
    ) -> None:
        self._catalog = catalog
        self._connections = connections
        self._actions = actions
        self._store = store
        self._credentials = credentials
        self._oauth_apps = oauth_apps
        self._settings = settings

    def __repr__(self) -> str:
        return "Subscriptions()"

    # Triggers

    def triggers(self, connection_id: str, *, team: str = LOCAL_TEAM) -> builtins.list[TriggerInfo]:
        """A connection's triggers.

        Args:
            connection_id: The connection.
            team: The team that owns it.

        Returns:
            Each trigger with its config inputs.

        Raises:
            ConnectionNotFound: No connection has this id.
        """
        record = self._connections.record(connection_id, team)
        spec = self._catalog.spec(record.integration_id, record.team_id)
        return [describe_trigger(code, trigger) for code, trigger in spec.triggers.items()]

    # Subscribe

    def subscribe(self, connection_id: str, request: SubscribeRequest, *, team: str = LOCAL_TEAM) -> SubscriptionInfo:
        """Switch a trigger on for a connection.

        Args:
            connection_id: The connection.
            request: The trigger, its config and the optional `target_url`.
            team: The team that owns the connection.

        Returns:
            The subscription, with `webhook_secret` and `secret` (shown this once).

        Raises:
            ConnectionNotFound: No connection has this id.
            TriggerNotFound: The integration has no such trigger.
            InvalidInput: The config breaks the trigger's schema, or the target URL is not http(s).
            ActionError: The provider refused to register the webhook (nothing is stored).
        """
        record = self._connections.record(connection_id, team)
        spec = self._catalog.spec(record.integration_id, record.team_id)
        code, trigger = find_trigger(spec, request.trigger)
        config = dict(request.config or {})
        check_config(code, trigger, config)
        target = _check_target(request.target_url)
        subscription_id = "sub_" + secrets.token_hex(12)
        token = secrets.token_urlsafe(32)
        webhook_secret = new_webhook_secret() if isinstance(trigger, WebhookTriggerSpec) else None
        url = webhook_url(self._settings, token)
        hidden = {k for k, v in trigger.config.items() if v.secret}
        provider_id: Any = None  # as the provider gave it (a number stays a number for unsubscribe)
        if isinstance(trigger, WebhookTriggerSpec) and trigger.subscribe is not None:
            values = self._values(record, config, subscription_id, url, webhook_secret, None)
            inputs = fill(trigger.subscribe.inputs, values)
            answer = self._run(record, trigger.subscribe.action, inputs, f"subscribe {code}")
            if trigger.subscribe.provider_id:
                found = resolve(answer, trigger.subscribe.provider_id)
                provider_id = None if found is MISSING or found is None else found
            if trigger.subscribe.webhook_secret:
                chosen = resolve(answer, trigger.subscribe.webhook_secret)
                if chosen is MISSING or not chosen:
                    self._unregister(record, code, trigger, config, subscription_id, url, provider_id)
                    raise ActionError(
                        f"subscribe {code}: the provider's answer has no secret at {trigger.subscribe.webhook_secret}"
                    )
                webhook_secret = str(chosen)
        now = utcnow()
        poll = isinstance(trigger, PollTriggerSpec)
        stored = SubscriptionRecord(
            id=subscription_id,
            team_id=record.team_id,
            connection_id=record.id,
            integration_id=record.integration_id,
            trigger=code,
            kind=trigger.type,
            config={k: v for k, v in config.items() if k not in hidden},
            status="active",
            token_hash=digest(token),
            created_at=now,
            updated_at=now,
            provider_id=None if provider_id is None else str(provider_id),
            target_url=target,
            next_poll_at=now if poll else None,
        )
        delivery_secret = new_delivery_secret()
        sealed_values = {
            "token": token,
            "webhook_secret": webhook_secret,
            "secret": delivery_secret,
            "config": {k: v for k, v in config.items() if k in hidden},
            "provider_id": provider_id,
        }
        record_id = subscription_record_id(subscription_id)
        try:
            self._credentials.write(
                lambda seal: self._store.subscriptions.insert(stored, seal(record_id, sealed_values))
            )
        except Exception:
            if provider_id is not None and isinstance(trigger, WebhookTriggerSpec):
                self._unregister(record, code, trigger, config, subscription_id, url, provider_id)
            raise
        logger.info("subscription %s: %s on connection %s", subscription_id, code, record.id)
        info = self._describe(stored, SubscriptionSecrets(token, webhook_secret, delivery_secret, {}))
        return info.model_copy(update={"webhook_secret": webhook_secret, "secret": delivery_secret})

    # Read

    def record(self, subscription_id: str, team: str | None) -> SubscriptionRecord:
        """A team's subscription row, for the other services.

        Args:
            subscription_id: Its id.
            team: The team that must own it; None for any.

        Returns:
            The row.

        Raises:
            SubscriptionNotFound: No subscription has this id (another team's answers the same).
        """
        found = self._store.subscriptions.get(subscription_id, team)
        if found is None:
            raise SubscriptionNotFound(f"No subscription with id {subscription_id!r}")
        return found

    def secrets(self, record: SubscriptionRecord) -> SubscriptionSecrets:
        """Open a subscription's sealed values (for the inbound check and deliveries, never for display)."""
        return SubscriptionSecrets.of(self._credentials.read(subscription_record_id(record.id)))

    def get(self, subscription_id: str, *, team: str = LOCAL_TEAM) -> SubscriptionInfo:
        """Describe a subscription (secrets not included).

        Args:
            subscription_id: Its id.
            team: The team that owns it.

        Returns:
            The subscription.

        Raises:
            SubscriptionNotFound: No subscription has this id.
        """
        found = self.record(subscription_id, team)
        return self._describe(found, self.secrets(found))

    def list(
        self,
        connection_id: str | None = None,
        page_number: int = 0,
        page_size: int = 20,
        *,
        team: str = LOCAL_TEAM,
        status: str | None = None,
    ) -> Page[SubscriptionInfo]:
        """A team's subscriptions (or one connection's), newest first.

        Args:
            connection_id: Only this connection's.
            page_number: 0-based page.
            page_size: Results per page.
            team: The team.
            status: Only those in this status (`active`, or `failing` while polls fail).

        Returns:
            One page (secrets not included).

        Raises:
            ConnectionNotFound: `connection_id` is not one of the team's connections.
            InvalidInput: An unknown status.
        """
        check_paging(page_number, page_size)
        if status is not None and status not in STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
        if connection_id is not None:
            self._connections.record(connection_id, team)
        records, total = self._store.subscriptions.list(
            team_id=team,
            connection_id=connection_id,
            offset=page_number * page_size,
            limit=page_size,
            status=status,
        )
        return page_of([self._describe(r, self.secrets(r)) for r in records], total, page_number, page_size)

    def events(
        self,
        subscription_id: str,
        after: str | None = None,
        limit: int = 100,
        wait: float = 0,
        *,
        team: str = LOCAL_TEAM,
    ) -> builtins.list[EventInfo]:
        """Pull a subscription's events in arrival order.

        Args:
            subscription_id: The subscription.
            after: The id of the last event already seen (None: from the first).
            limit: The most to return (1 to 1000).
            wait: Seconds to wait for one when there is none yet (at most 30).
            team: The team that owns it.

        Returns:
            The events.

        Raises:
            SubscriptionNotFound: No subscription has this id.
            EventNotFound: `after` is not one of this subscription's events.
            InvalidInput: `limit` or `wait` is out of range.
        """
        found = self.record(subscription_id, team)
        if not 1 <= limit <= 1000:
            raise InvalidInput("limit must be between 1 and 1000")
        if not 0 <= wait <= MAX_WAIT:
            raise InvalidInput(f"wait must be between 0 and {MAX_WAIT:g} seconds")
        if after is not None and not self._store.events.has(found.id, after):
            raise EventNotFound(f"Subscription {found.id} has no event {after!r}")
        deadline = time.monotonic() + wait
        while True:
            rows = self._store.events.after(found.id, after, limit)
            if rows or time.monotonic() >= deadline:
                return [event_info(found, row) for row in rows]
            time.sleep(min(_WAIT_STEP, max(0.0, deadline - time.monotonic())))

    def recent_events(
        self, subscription_id: str, limit: int = 20, *, team: str = LOCAL_TEAM
    ) -> builtins.list[EventInfo]:
        """A subscription's latest events, newest first (for an operator's view; `events` pulls in order).

        Args:
            subscription_id: The subscription.
            limit: The most to return (1 to 1000).
            team: The team that owns it.

        Returns:
            The events.

        Raises:
            SubscriptionNotFound: No subscription has this id.
            InvalidInput: `limit` is out of range.
        """
        found = self.record(subscription_id, team)
        if not 1 <= limit <= 1000:
            raise InvalidInput("limit must be between 1 and 1000")
        return [event_info(found, row) for row in self._store.events.recent(found.id, limit)]

    def deliveries(
        self, subscription_id: str, status: str | None = None, limit: int = 100, *, team: str = LOCAL_TEAM
    ) -> builtins.list[DeliveryInfo]:
        """A subscription's deliveries, newest first (`failed` ones can be sent again with `redeliver`).

        Args:
            subscription_id: The subscription.
            status: Only `pending`, `delivered` or `failed` ones.
            limit: The most to return (1 to 1000).
            team: The team that owns it.

        Returns:
            The deliveries.

        Raises:
            SubscriptionNotFound: No subscription has this id.
            InvalidInput: An unknown status, or `limit` out of range.
        """
        found = self.record(subscription_id, team)
        if status is not None and status not in ("pending", "delivered", "failed"):
            raise InvalidInput(f"status must be pending, delivered or failed, not {status!r}")
        if not 1 <= limit <= 1000:
            raise InvalidInput("limit must be between 1 and 1000")
        return [delivery_info(d) for d in self._store.events.deliveries(found.id, status, limit)]

    def redeliver(self, subscription_id: str, event_id: str, *, team: str = LOCAL_TEAM) -> DeliveryInfo:
        """Send an event to the subscription's target again (a failed delivery, or a delivered one).

        Args:
            subscription_id: The subscription.
            event_id: The event.
            team: The team that owns it.

        Returns:
            The delivery, pending again.

        Raises:
            SubscriptionNotFound: No subscription has this id.
            EventNotFound: The subscription has no such event.
            InvalidInput: The subscription has no target URL (pull its events instead).
        """
        found = self.record(subscription_id, team)
        if not self._store.events.has(found.id, event_id):
            raise EventNotFound(f"Subscription {found.id} has no event {event_id!r}")
        if not found.target_url:
            raise InvalidInput(f"Subscription {found.id} has no target_url: pull its events instead")
        self._store.events.redeliver(found.id, event_id)
        delivery = self._store.events.delivery(event_id)
        if delivery is None:  # deleted meanwhile with its subscription
            raise EventNotFound(f"Subscription {found.id} has no event {event_id!r}")
        return delivery_info(delivery)

    # Delete

    def delete(self, subscription_id: str, *, team: str = LOCAL_TEAM) -> SubscriptionDeleted:
        """Delete a subscription, removing its webhook at the provider first when plughub registered it.

        A failed removal is reported in the result; the local delete happens regardless.

        Args:
            subscription_id: Its id.
            team: The team that owns it.

        Returns:
            Whether the provider's webhook was removed, and why not when it was not.

        Raises:
            SubscriptionNotFound: No subscription has this id.
        """
        found = self.record(subscription_id, team)
        unsubscribed, problem = self._unsubscribe(found)
        self._store.subscriptions.delete(found.id)
        logger.info("subscription %s deleted", found.id)
        return SubscriptionDeleted(id=found.id, unsubscribed=unsubscribed, unsubscribe_error=problem)

    def delete_for_connection(self, connection_id: str) -> None:
        """Unsubscribe a connection's subscriptions at the provider before the connection goes.

        Called before a connection is deleted (its credentials are needed for the calls); the
        rows go with the connection.

        Args:
            connection_id: The connection.
        """
        for found in self._store.subscriptions.of_connection(connection_id):
            _, problem = self._unsubscribe(found)
            if problem:
                logger.warning("subscription %s: unsubscribe failed: %s", found.id, problem)
            self._store.subscriptions.delete(found.id)

    # Helpers

    def _unsubscribe(self, found: SubscriptionRecord) -> tuple[bool, str | None]:
        try:
            record = self._connections.record(found.connection_id, None)
            spec = self._catalog.spec(record.integration_id, record.team_id)
            trigger = spec.triggers.get(found.trigger)
        except Exception as exc:  # the definition may be gone: delete locally anyway
            return False, str(exc)
        if not isinstance(trigger, WebhookTriggerSpec) or trigger.unsubscribe is None or found.provider_id is None:
            return False, None
        opened = self.secrets(found)
        config = {**found.config, **opened.config}
        try:
            self._unregister(
                record,
                found.trigger,
                trigger,
                config,
                found.id,
                webhook_url(self._settings, opened.token),
                opened.provider_id if opened.provider_id is not None else found.provider_id,
                raising=True,
            )
        except Exception as exc:  # reported; the subscription is deleted regardless
            return False, getattr(exc, "message", None) or str(exc)
        return True, None

    def _unregister(
        self,
        record: ConnectionRecord,
        code: str,
        trigger: WebhookTriggerSpec,
        config: Mapping[str, Any],
        subscription_id: str,
        url: str,
        provider_id: Any,
        *,
        raising: bool = False,
    ) -> None:
        if trigger.unsubscribe is None or provider_id is None:
            return
        values = self._values(record, config, subscription_id, url, None, provider_id)
        try:
            self._run(
                record, trigger.unsubscribe.action, fill(trigger.unsubscribe.inputs, values), f"unsubscribe {code}"
            )
        except Exception:
            if raising:
                raise
            logger.warning("subscription %s: the provider's webhook %s could not be removed", subscription_id, code)

    def _values(
        self,
        record: ConnectionRecord,
        config: Mapping[str, Any],
        subscription_id: str,
        url: str,
        webhook_secret: str | None,
        provider_id: Any,
    ) -> dict[str, dict[str, Any]]:
        app: dict[str, Any] = {}
        client_id = self._oauth_apps.signing_values(record.integration_id, record.team_id).get("client_id")
        if client_id:
            app["client_id"] = client_id
        return {
            "config": dict(config),
            "connection_config": dict(record.config),
            "app": app,
            "subscription": {
                "id": subscription_id,
                "webhook_url": url,
                "webhook_secret": webhook_secret,
                "provider_id": provider_id,
            },
        }

    def _run(self, record: ConnectionRecord, action: str, inputs: Any, label: str) -> Any:
        result = self._actions.run(record.id, action, inputs, team=record.team_id)
        if result.status is not ResponseStatus.SUCCESS:
            cls = error_class(result.error_code or "action_error")
            if not issubclass(cls, ActionError):
                cls = ActionError
            raise cls(
                f"{label}: the provider refused ({result.error_message or result.error_code})",
                details={"status_code": result.status_code},
            )
        return result.data

    def _describe(self, found: SubscriptionRecord, opened: SubscriptionSecrets) -> SubscriptionInfo:
        config = dict(found.config)
        config.update({k: mask(str(v)) for k, v in opened.config.items()})
        return SubscriptionInfo(
            id=found.id,
            trigger=found.trigger,
            connection_id=found.connection_id,
            integration_id=found.integration_id,
            type=found.kind,
            status=found.status,
            last_error=found.last_error,
            config=config,
            target_url=found.target_url,
            webhook_url=webhook_url(self._settings, opened.token) if found.kind == "webhook" else None,
            provider_id=found.provider_id,
            created_at=found.created_at,
        )


def event_info(found: SubscriptionRecord, row: EventRecord) -> EventInfo:
    """Describe a stored event."""
    return EventInfo(
        id=row.id,
        subscription_id=found.id,
        connection_id=found.connection_id,
        trigger=found.trigger,
        type=row.type,
        data=row.data,
        received_at=row.received_at,
    )


def delivery_info(row: Any) -> DeliveryInfo:
    """Describe a delivery row."""
    return DeliveryInfo(
        event_id=row.event_id,
        subscription_id=row.subscription_id,
        status=row.status,
        attempts=row.attempts,
        next_at=row.next_at if row.status == "pending" else None,
        last_error=row.last_error,
        last_status=row.last_status,
        delivered_at=row.delivered_at,
    )


def _check_target(url: str | None) -> str | None:
    if url is None or url == "":
        return None
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"target_url must be an http or https URL with a host, not {url!r}")
    if parts.username or parts.password:
        raise InvalidInput("target_url must not carry a user name or password")
    return url
