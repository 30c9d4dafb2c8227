"""Subscriptions: a connection's triggers switched on, listed, described and deleted.

Subscribing checks the config like action inputs, generates the webhook token and secrets, and
stores the subscription at once. When the trigger says how to register the webhook at the
provider, it is `pending` until its subscribe job has run the action (`registration`); a caller
may wait for that. Both secrets are sealed and shown only in the answer that creates the
subscription. Deleting is a job too when the provider's webhook is to be removed. The reads
(events, deliveries) live in `history`.
"""

from __future__ import annotations

import builtins
import logging
import secrets
from collections.abc import Callable

from plughub.config import Settings
from plughub.engine.actions.service import ActionService
from plughub.engine.catalog import Catalog
from plughub.engine.catalog.describe import describe_trigger
from plughub.engine.catalog.models import IntegrationSpec
from plughub.engine.catalog.triggers import PollTriggerSpec, TriggerSpec, WebhookTriggerSpec
from plughub.engine.connections.service import ConnectionService
from plughub.engine.credentials import Credentials
from plughub.engine.events.history import MAX_WAIT, History, delivery_info, event_info
from plughub.engine.events.registration import Registrar
from plughub.engine.events.sealed import SubscriptionSecrets, webhook_url
from plughub.engine.events.signing import new_delivery_secret, new_webhook_secret
from plughub.engine.events.unsubscribing import unsubscribe_trigger
from plughub.engine.events.values import check_config
from plughub.engine.oauth.apps import OAuthApps
from plughub.engine.paging import check_paging, page_of
from plughub.engine.redact import mask
from plughub.engine.store import LOCAL_TEAM, Store, digest, utcnow
from plughub.engine.store.subscriptions import (
    ACTIVE,
    DELETING,
    FAILED,
    PENDING,
    SubscriptionRecord,
    subscription_record_id,
)
from plughub.exceptions import (
    ActionError,
    InvalidInput,
    SubscriptionNotFound,
    TriggerNotFound,
)
from plughub.schemas import (
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

# A subscription's statuses: `pending` until its subscribe job registered the webhook, `failing`
# while its polls fail (see `last_error`), `failed` when the subscribe job gave up, `deleting`
# while its unsubscribe job runs.
STATUSES = ("pending", "active", "failing", "failed", "deleting")


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


class Subscriptions(History):
    """Subscriptions of a team's connections: the reads of `History`, subscribing and deleting.

    Args:
        catalog: The integrations (their triggers).
        connections: Finds a team's connection.
        actions: Runs the subscribe and unsubscribe actions, and polls.
        store: Subscriptions and events.
        credentials: Seals the token and secrets.
        oauth_apps: `${app.client_id}` in subscribe inputs.
        settings: `PLUGHUB_PUBLIC_URL` (the webhook URL).

    Attributes:
        registrar: Runs the subscribe and unsubscribe jobs.
        defer: Called with a task (`subscribe`, `unsubscribe`) and a subscription id to ask for
            its job (`Events` sets it; None leaves the job to the next scan).
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
        super().__init__(store)
        self._catalog = catalog
        self._connections = connections
        self._actions = actions
        self._credentials = credentials
        self._oauth_apps = oauth_apps
        self._settings = settings
        self.registrar = Registrar(
            catalog=catalog,
            connections=connections,
            actions=actions,
            store=store,
            credentials=credentials,
            oauth_apps=oauth_apps,
            settings=settings,
        )
        self.defer: Callable[[str, str], None] | None = None

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

    def subscribe(
        self, connection_id: str, request: SubscribeRequest, *, team: str = LOCAL_TEAM, wait: float = 0
    ) -> SubscriptionInfo:
        """Switch a trigger on for a connection.

        The subscription is stored at once: `active`, or `pending` while its subscribe job
        registers the webhook at the provider. With `wait`, the call waits that long for the job
        (running it in this thread when no worker has taken it).

        Args:
            connection_id: The connection.
            request: The trigger, its config and the optional `target_url`.
            team: The team that owns the connection.
            wait: Seconds to wait for the subscribe job (0 to 30).

        Returns:
            The subscription, with `webhook_secret` and `secret` (shown this once); `pending`
            when the job has not finished within `wait`.

        Raises:
            ConnectionNotFound: No connection has this id.
            TriggerNotFound: The integration has no such trigger.
            InvalidInput: The config breaks the trigger's schema, the target URL is not
                http(s), or `wait` is out of range.
            ActionError: Waited, and the provider refused to register the webhook after the
                last attempt (the subscription is `failed`, with the message in `last_error`).
        """
        _check_wait(wait)
        record = self._connections.record(connection_id, team)
        spec = self._catalog.spec(record.integration_id, record.team_id)
        code, trigger = find_trigger(spec, request.trigger)
        config = dict(request.config or {})
        check_config(code, trigger, config)
        target = _check_target(request.target_url)
        subscription_id = "sub_" + secrets.token_hex(12)
        token = secrets.token_urlsafe(32)
        webhook_secret = new_webhook_secret() if isinstance(trigger, WebhookTriggerSpec) else None
        hidden = {k for k, v in trigger.config.items() if v.secret}
        registers = isinstance(trigger, WebhookTriggerSpec) and trigger.subscribe is not None
        if registers and trigger.subscribe.webhook_secret:  # type: ignore[union-attr]
            webhook_secret = None  # the provider chooses it: unknown (and nothing verifies) until it answers
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
            status=PENDING if registers else ACTIVE,
            token_hash=digest(token),
            created_at=now,
            updated_at=now,
            target_url=target,
            next_poll_at=now if poll else None,
            job_due_at=now if registers else None,  # its subscribe job's first attempt
        )
        delivery_secret = new_delivery_secret()
        sealed_values = {
            "token": token,
            "webhook_secret": webhook_secret,
            "secret": delivery_secret,
            "config": {k: v for k, v in config.items() if k in hidden},
            "provider_id": None,
        }
        record_id = subscription_record_id(subscription_id)
        self._credentials.write(lambda seal: self._store.subscriptions.insert(stored, seal(record_id, sealed_values)))
        logger.info("subscription %s: %s on connection %s (%s)", subscription_id, code, record.id, stored.status)
        if registers:
            self.ask_job("subscribe", subscription_id)
            if wait > 0:
                now_stored = self.registrar.settle(subscription_id, PENDING, wait)
                if now_stored is not None:
                    stored = now_stored
                if stored.status == FAILED:
                    raise ActionError(
                        stored.last_error or f"subscribe {code} failed",
                        details={"subscription_id": subscription_id},
                    )
        opened = self.secrets(stored)
        info = self._describe(stored, opened)
        return info.model_copy(update={"webhook_secret": opened.webhook_secret, "secret": delivery_secret})

    # Read

    def secrets(self, record: SubscriptionRecord) -> SubscriptionSecrets:
        """Open a subscription's sealed values (for the inbound check and deliveries, never for display).

        Args:
            record: The subscription.

        Returns:
            Its sealed values, opened.

        Raises:
            SubscriptionNotFound: The subscription was deleted since its record was read (its
                sealed values went with it).
        """
        sealed = self._credentials.read(subscription_record_id(record.id))
        if not sealed:
            raise SubscriptionNotFound(f"No subscription with id {record.id!r}")
        return SubscriptionSecrets.of(sealed)

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
        described = []
        for record in records:
            try:
                described.append(self._describe(record, self.secrets(record)))
            except SubscriptionNotFound:  # deleted since the page was read: it is not listed
                continue
        return page_of(described, total, page_number, page_size)

    # Delete

    def delete(self, subscription_id: str, *, team: str = LOCAL_TEAM, wait: float = 0) -> SubscriptionDeleted:
        """Delete a subscription; its webhook at the provider is removed first by a job when plughub registered it.

        Until that job ends the subscription is `deleting`: its webhook URL answers 404 and
        nothing is delivered. After the job's last failed attempt it is removed anyway (the
        server log says so). With `wait`, the call waits that long for the job (running it in
        this thread when no worker has taken it).

        Args:
            subscription_id: Its id.
            team: The team that owns it.
            wait: Seconds to wait for the unsubscribe job (0 to 30).

        Returns:
            `status` `deleted`, or `deleting` while the job runs; whether the provider's webhook
            was removed, and why not when it was not (known when the job ran in this process).

        Raises:
            SubscriptionNotFound: No subscription has this id.
            InvalidInput: `wait` is out of range.
        """
        _check_wait(wait)
        found = self.record(subscription_id, team)
        if unsubscribe_trigger(self._catalog, found) is None:
            self._store.subscriptions.delete(found.id)
            logger.info("subscription %s deleted", found.id)
            return SubscriptionDeleted(id=found.id)
        if self._store.subscriptions.mark_deleting(found.id):
            self.ask_job("unsubscribe", found.id)
        left = self.registrar.settle(found.id, DELETING, wait) if wait > 0 else self._store.subscriptions.get(found.id)
        if left is not None:
            return SubscriptionDeleted(id=found.id, status=DELETING, unsubscribe_error=left.last_error)
        # None: removed by another process's job, and how its unsubscribe went is not known here.
        return self.registrar.outcomes.take(found.id) or SubscriptionDeleted(id=found.id)

    # Helpers

    def ask_job(self, task: str, subscription_id: str) -> None:
        """Ask for a subscription's `subscribe` or `unsubscribe` job (left to the scan when that fails).

        Args:
            task: The job.
            subscription_id: The subscription.
        """
        if self.defer is None:
            return
        try:
            self.defer(task, subscription_id)
        except Exception:  # stored and due: the next scan defers it
            logger.warning("could not defer the %s job of %s; the scan will", task, subscription_id, exc_info=True)

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


def _check_wait(wait: float) -> None:
    if not 0 <= wait <= MAX_WAIT:
        raise InvalidInput(f"wait must be between 0 and {MAX_WAIT:g} seconds")


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
