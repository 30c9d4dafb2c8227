"""Push deliveries: each event POSTed to its subscription's `target_url`, signed per Standard Webhooks.

One attempt at a time per delivery, across every process: an attempt first claims the delivery
row for longer than an attempt can take (`EventRepository.claim`); a process that dies mid-attempt
leaves a claim that runs out, and the delivery is taken again. A non-2xx answer, or none, is
retried after `PLUGHUB_DELIVERY_RETRY_DELAYS`; after the last the delivery is `failed`. Each
attempt is bounded by a timeout, and attempts run side by side, so a slow target holds up only
its own deliveries.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from datetime import timedelta

import httpx

from plughub.engine.credentials import Credentials
from plughub.engine.events.signing import sign_delivery
from plughub.engine.store import Store, utcnow
from plughub.engine.store.events import DELIVERED, FAILED, PENDING, EventRecord
from plughub.engine.store.subscriptions import DELETING, subscription_record_id

__all__ = ["ATTEMPT_TIMEOUT", "Deliverer", "payload"]

logger = logging.getLogger("plughub.events")

# Seconds one attempt may take (connect + answer); the claim lasts longer than that.
ATTEMPT_TIMEOUT = 10.0
_LEASE = ATTEMPT_TIMEOUT * 3


def payload(event: EventRecord, *, trigger: str, connection_id: str, end_user_id: str | None) -> bytes:
    """The JSON body of a delivery (DESIGN.md §10).

    Args:
        event: The event.
        trigger: Its subscription's trigger code.
        connection_id: Its subscription's connection.
        end_user_id: The connection's end user, if any.

    Returns:
        The exact bytes sent (and signed).
    """
    body = {
        "id": event.id,
        "type": event.type,
        "trigger": trigger,
        "subscription_id": event.subscription_id,
        "connection_id": connection_id,
        "end_user_id": end_user_id,
        "data": event.data,
        "received_at": event.received_at.isoformat(),
    }
    return json.dumps(body, separators=(",", ":")).encode()


class Deliverer:
    """Sends deliveries.

    Args:
        store: Events, deliveries, subscriptions, connections.
        credentials: Opens the subscription's `whsec_` secret.
        delays: Seconds before each retry (`PLUGHUB_DELIVERY_RETRY_DELAYS`).
        transport: The transport for targets (the outbound guard's on a server).
    """

    def __init__(
        self,
        *,
        store: Store,
        credentials: Credentials,
        delays: Sequence[float],
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._store = store
        self._credentials = credentials
        self._delays = tuple(delays)
        self._client = httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(ATTEMPT_TIMEOUT),
            follow_redirects=False,
            trust_env=False,
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        )

    def __repr__(self) -> str:
        return f"Deliverer(retries={len(self._delays)})"

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()

    def deliver(self, event_id: str) -> str | None:
        """Make one attempt at a delivery, if it is due and no other process is making one.

        Args:
            event_id: The event.

        Returns:
            The delivery's status after the attempt (`delivered`, `pending` or `failed`), or None
            when there was nothing to do.
        """
        claimed = self._store.events.claim(event_id, _LEASE)
        if claimed is None:
            return None
        delivery, event = claimed
        # Read through the short read cache: under load, many deliveries of one subscription follow
        # each other, and a deleted subscription empties the cache (its transaction invalidates).
        found = self._store.db.cache.get(
            ("subscription", event.subscription_id), lambda: self._store.subscriptions.get(event.subscription_id)
        )
        connection = self._store.connections.get(found.connection_id) if found is not None else None
        if found is None or not found.target_url or found.status == DELETING or connection is None:
            deleting = found is not None and (found.status == DELETING or connection is None)
            self._store.events.finish(
                event_id,
                status=FAILED,
                attempts=delivery.attempts,
                next_at=None,
                error="the subscription is being deleted" if deleting else "no target",
                upstream_status=None,
            )
            return FAILED
        body = payload(
            event,
            trigger=found.trigger,
            connection_id=found.connection_id,
            end_user_id=connection.end_user_id if connection else None,
        )
        secret = self._credentials.read(subscription_record_id(found.id)).get("secret")
        if not secret:  # the subscription is being deleted: its deliveries go with it
            return None
        headers = sign_delivery(event.id, int(time.time()), body, secret)
        headers["content-type"] = "application/json"
        headers["user-agent"] = "plughub-webhooks/1"
        attempts = delivery.attempts + 1
        error: str | None = None
        status_code: int | None = None
        try:
            response = self._client.post(found.target_url, content=body, headers=headers)
            status_code = response.status_code
            if 200 <= response.status_code < 300:
                self._store.events.finish(
                    event_id, status=DELIVERED, attempts=attempts, next_at=None, error=None, upstream_status=status_code
                )
                return DELIVERED
            error = f"the target answered {response.status_code}"
        except httpx.HTTPError as exc:
            error = f"the target could not be reached ({type(exc).__name__}: {exc})"[:500]
        if attempts > len(self._delays):
            logger.warning("delivery of %s failed after %d attempts: %s", event_id, attempts, error)
            self._store.events.finish(
                event_id, status=FAILED, attempts=attempts, next_at=None, error=error, upstream_status=status_code
            )
            return FAILED
        next_at = utcnow() + timedelta(seconds=self._delays[attempts - 1])
        self._store.events.finish(
            event_id, status=PENDING, attempts=attempts, next_at=next_at, error=error, upstream_status=status_code
        )
        return PENDING

    def retry_delay(self, attempts: int) -> float | None:
        """Seconds before the next attempt after `attempts` attempts, or None after the last."""
        return self._delays[attempts - 1] if 1 <= attempts <= len(self._delays) else None
