"""The subscribe and unsubscribe jobs: a webhook registered at the provider, and removed.

A subscription whose trigger has a `subscribe` action is stored `pending`; its subscribe job
runs the action, keeps the provider's id (and the secret the provider chose, for Stripe) and
makes it `active`. A failed attempt is tried again after `PLUGHUB_SUBSCRIBE_RETRY_DELAYS`; after
the last the subscription is `failed` with the provider's message in `last_error`. A deleted
subscription is `deleting` (no events taken, no deliveries) until its unsubscribe job has run
the `unsubscribe` action, with the same retries; after the last failure it is removed anyway
and the server log says so (the provider then posts to a URL that answers 404). When the
connection is being deleted and that was its last subscription, the job finishes the
connection's deletion (`ConnectionService.finish_deleting`).

Each attempt claims the row first (a lease that a dead process lets run out), so however many
processes run jobs, one attempt is made at a time; the row is the truth, and the scan of any
worker finds the attempts that are due.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from plughub.config import Settings
from plughub.engine.actions.service import ActionService
from plughub.engine.catalog import Catalog
from plughub.engine.catalog.triggers import WebhookTriggerSpec
from plughub.engine.connections.service import ConnectionService
from plughub.engine.credentials import Credentials
from plughub.engine.events.sealed import SubscriptionSecrets, webhook_url
from plughub.engine.events.values import fill
from plughub.engine.json_pointer import MISSING, resolve
from plughub.engine.oauth.apps import OAuthApps
from plughub.engine.recent import RecentOutcomes
from plughub.engine.store import ConnectionRecord, Store, utcnow
from plughub.engine.store.subscriptions import (
    DELETING,
    FAILED,
    PENDING,
    SubscriptionRecord,
    subscription_record_id,
)
from plughub.enums import ResponseStatus
from plughub.exceptions import ActionError, PlughubError, error_class
from plughub.schemas import SubscriptionDeleted

__all__ = ["Registrar"]

logger = logging.getLogger("plughub.events")

# Seconds an attempt holds its subscription: longer than an action call with its retries.
_LEASE = 120.0
_WAIT_STEP = 0.05


class Registrar:
    """Runs the subscribe and unsubscribe actions of webhook triggers, one attempt per job.

    Args:
        catalog: The triggers.
        connections: The subscription's connection.
        actions: Runs the actions.
        store: Subscriptions.
        credentials: Opens and seals the subscriptions' secrets.
        oauth_apps: `${app.client_id}` in the actions' inputs.
        settings: The public URL and `subscribe_retry_delays`.

    Attributes:
        outcomes: How the unsubscribe jobs of this process ended, by subscription id (for a
            delete that waits).
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
        self.outcomes: RecentOutcomes[SubscriptionDeleted] = RecentOutcomes()

    def __repr__(self) -> str:
        return "Registrar()"

    def subscribe(self, subscription_id: str) -> float | None:
        """One attempt to register a `pending` subscription's webhook at the provider (a job).

        Args:
            subscription_id: The subscription.

        Returns:
            Seconds until the next attempt when this one failed and another is left; else None
            (active, failed for good, or nothing to do: gone, not due, or claimed elsewhere).
        """
        found = self._store.subscriptions.claim_job(subscription_id, PENDING, _LEASE)
        if found is None:
            return None
        try:
            record, trigger = self._trigger(found)
            if trigger is None or trigger.subscribe is None:
                raise ActionError(f"{found.trigger} has no subscribe action any more")
            opened = SubscriptionSecrets.of(self._credentials.read(subscription_record_id(found.id)))
            url = webhook_url(self._settings, opened.token)
            config = {**found.config, **opened.config}
            values = self._values(record, config, found.id, url, opened.webhook_secret, opened.provider_id)
            answer = self._run(
                record, trigger.subscribe.action, fill(trigger.subscribe.inputs, values), f"subscribe {found.trigger}"
            )
            provider_id: Any = opened.provider_id
            if trigger.subscribe.provider_id:
                seen = resolve(answer, trigger.subscribe.provider_id)
                provider_id = None if seen is MISSING or seen is None else seen
            webhook_secret = opened.webhook_secret
            if trigger.subscribe.webhook_secret:
                chosen = resolve(answer, trigger.subscribe.webhook_secret)
                if chosen is MISSING or not chosen:
                    self._unregister(record, found.trigger, trigger, config, found.id, url, provider_id)
                    raise ActionError(
                        f"subscribe {found.trigger}: the provider's answer has no secret at "
                        f"{trigger.subscribe.webhook_secret}"
                    )
                webhook_secret = str(chosen)
        except Exception as exc:
            return self._failed(found, PENDING, exc)
        # Keep the provider's id at once: a run that follows a lost answer must not forget it.
        sealed_values = {
            "token": opened.token,
            "webhook_secret": webhook_secret,
            "secret": opened.secret,
            "config": opened.config,
            "provider_id": provider_id,
        }
        record_id = subscription_record_id(found.id)
        self._credentials.write(
            lambda seal: self._store.subscriptions.activate(
                found.id, seal(record_id, sealed_values), None if provider_id is None else str(provider_id)
            )
        )
        logger.info("subscription %s: registered at the provider", found.id)
        return None

    def unsubscribe(self, subscription_id: str) -> float | None:
        """One attempt to remove a `deleting` subscription's webhook at the provider, then the row (a job).

        Args:
            subscription_id: The subscription.

        Returns:
            Seconds until the next attempt when this one failed and another is left; else None.
        """
        found = self._store.subscriptions.claim_job(subscription_id, DELETING, _LEASE)
        if found is None:
            return None
        try:
            outcome = SubscriptionDeleted(id=found.id, unsubscribed=self.unregister(found))
        except Exception as exc:
            delay = self._failed(found, DELETING, exc)
            if delay is not None:
                return delay
            outcome = SubscriptionDeleted(id=found.id, unsubscribe_error=_message(exc))
            logger.warning(
                "subscription %s: removed, but its webhook at the provider could not be: %s",
                found.id,
                outcome.unsubscribe_error,
            )
        self._store.subscriptions.delete(found.id)
        self.outcomes.note(found.id, outcome)
        logger.info("subscription %s deleted", found.id)
        self._finish_connection(found.connection_id)
        return None

    def settle(self, subscription_id: str, status: str, wait: float) -> SubscriptionRecord | None:
        """Wait up to `wait` seconds for a subscription to leave `status` (`pending` or `deleting`).

        An attempt that is due and that no process holds is made in this thread (it claims the
        row first: a worker that took it meanwhile wins).

        Args:
            subscription_id: The subscription.
            status: The status its job moves it out of.
            wait: Seconds to wait at most.

        Returns:
            The row as it is then (None when it is gone).
        """
        run = self.subscribe if status == PENDING else self.unsubscribe
        deadline = time.monotonic() + wait
        while True:
            current = self._store.subscriptions.get(subscription_id)
            if current is None or current.status != status:
                return current
            now = utcnow()
            free = current.job_lease_until is None or current.job_lease_until < now
            if free and current.job_due_at is not None and current.job_due_at <= now:
                run(subscription_id)
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                return current
            time.sleep(min(_WAIT_STEP, left))

    def unregister(self, found: SubscriptionRecord) -> bool:
        """Run a subscription's unsubscribe action now (when plughub registered its webhook).

        Args:
            found: The subscription.

        Returns:
            Whether the action ran (False: nothing to remove).

        Raises:
            ActionError: The provider refused.
        """
        try:
            record, trigger = self._trigger(found)
        except PlughubError:  # the connection or its definition is gone: nothing can be called
            return False
        if trigger is None or trigger.unsubscribe is None:
            return False
        opened = SubscriptionSecrets.of(self._credentials.read(subscription_record_id(found.id)))
        provider_id = opened.provider_id if opened.provider_id is not None else found.provider_id
        if provider_id is None:
            return False
        config = {**found.config, **opened.config}
        url = webhook_url(self._settings, opened.token)
        self._unregister(record, found.trigger, trigger, config, found.id, url, provider_id, raising=True)
        return True

    # Helpers

    def _finish_connection(self, connection_id: str) -> None:
        """Finish deleting the subscription's connection if it is being deleted and this was its last."""
        record = self._store.connections.get(connection_id, include_deleting=True)
        if record is None or record.deleting_since is None:
            return
        if not self._store.subscriptions.of_connection(connection_id):
            self._connections.finish_deleting(connection_id)

    def _trigger(self, found: SubscriptionRecord) -> tuple[ConnectionRecord, WebhookTriggerSpec | None]:
        # A connection being deleted still runs its subscriptions' unsubscribe actions.
        record = self._connections.record(found.connection_id, None, include_deleting=True)
        spec = self._catalog.spec(record.integration_id, record.team_id)
        trigger = spec.triggers.get(found.trigger)
        return record, trigger if isinstance(trigger, WebhookTriggerSpec) else None

    def _failed(self, found: SubscriptionRecord, status: str, exc: Exception) -> float | None:
        attempts = found.job_attempts + 1
        delays = self._settings.subscribe_retry_delays
        message = _message(exc)
        if not isinstance(exc, PlughubError):
            logger.error("subscription %s: attempt failed", found.id, exc_info=exc)
        if attempts <= len(delays):
            delay = delays[attempts - 1]
            self._store.subscriptions.release(
                found.id,
                status,
                job_attempts=attempts,
                last_error=message,
                job_due_at=utcnow() + timedelta(seconds=delay),
            )
            logger.info("subscription %s: attempt %d failed (%s); again in %g s", found.id, attempts, message, delay)
            return delay
        if status == PENDING:
            self._store.subscriptions.release(
                found.id, status, status=FAILED, job_attempts=attempts, last_error=message, job_due_at=None
            )
            logger.warning("subscription %s failed: %s", found.id, message)
        return None

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
        result = self._actions.run(record.id, action, inputs, team=record.team_id, include_deleting=True)
        if result.status is not ResponseStatus.SUCCESS:
            cls = error_class(result.error_code or "action_error")
            if not issubclass(cls, ActionError):
                cls = ActionError
            raise cls(
                f"{label}: the provider refused ({result.error_message or result.error_code})",
                details={"status_code": result.status_code},
            )
        return result.data


def _message(exc: Exception) -> str:
    return str(getattr(exc, "message", None) or exc)
