"""A deleted connection's subscriptions: removed at once, or unsubscribed at the provider first (jobs).

`ConnectionSubscriptions` is the connections service's deletion hook. A subscription whose
trigger has an `unsubscribe` action becomes `deleting` and its unsubscribe job is deferred (with
the usual retries); the others are removed at once. The job that removes the last of them
finishes the connection's deletion (`Registrar.unsubscribe`), while its token is still valid.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from plughub.engine.catalog import Catalog
from plughub.engine.catalog.triggers import WebhookTriggerSpec
from plughub.engine.events.registration import Registrar
from plughub.engine.store import Store
from plughub.engine.store.subscriptions import DELETING, SubscriptionRecord

__all__ = ["ConnectionSubscriptions", "unsubscribe_trigger"]

logger = logging.getLogger("plughub.events")


def unsubscribe_trigger(catalog: Catalog, found: SubscriptionRecord) -> WebhookTriggerSpec | None:
    """A subscription's trigger when it has an `unsubscribe` action (its removal is then a job).

    Args:
        catalog: The definitions.
        found: The subscription.

    Returns:
        The trigger, or None (no unsubscribe action, or the definition is gone: nothing to call).
    """
    try:
        spec = catalog.spec(found.integration_id, found.team_id)
    except Exception:  # the definition is gone: nothing to call at the provider
        return None
    trigger = spec.triggers.get(found.trigger)
    if isinstance(trigger, WebhookTriggerSpec) and trigger.unsubscribe is not None:
        return trigger
    return None


class ConnectionSubscriptions:
    """Stops a connection's subscriptions before the connection goes (a `DeletionHook`).

    Args:
        catalog: The triggers.
        store: Subscriptions.
        registrar: Runs the unsubscribe attempts (`settle`).
        defer: Asks for a job: called with `unsubscribe` and a subscription id.
    """

    def __init__(
        self, *, catalog: Catalog, store: Store, registrar: Registrar, defer: Callable[[str, str], None]
    ) -> None:
        self._catalog = catalog
        self._store = store
        self._registrar = registrar
        self._defer = defer

    def __repr__(self) -> str:
        return "ConnectionSubscriptions()"

    def stop(self, connection_id: str) -> bool:
        """Remove the subscriptions that need no call at the provider; make the others `deleting`.

        Safe to call again (the scan does, for a deletion whose process died midway).

        Args:
            connection_id: The connection being deleted.

        Returns:
            Whether some are `deleting`: the connection waits for their unsubscribe jobs.
        """
        waiting = False
        for found in self._store.subscriptions.of_connection(connection_id):
            if found.status != DELETING and unsubscribe_trigger(self._catalog, found) is None:
                self._store.subscriptions.delete(found.id)
                logger.info("subscription %s deleted with its connection", found.id)
                continue
            if self._store.subscriptions.mark_deleting(found.id):  # its webhook URL answers 404 from now on
                self._defer("unsubscribe", found.id)
            waiting = True
        return waiting

    def settle(self, connection_id: str, wait: float) -> bool:
        """Wait up to `wait` seconds for the unsubscribe jobs, making due attempts in this thread.

        Args:
            connection_id: The connection being deleted.
            wait: Seconds to wait at most.

        Returns:
            Whether none of its subscriptions is left.
        """
        deadline = time.monotonic() + wait
        for found in self._store.subscriptions.of_connection(connection_id):
            if found.status == DELETING:
                self._registrar.settle(found.id, DELETING, max(0.0, deadline - time.monotonic()))
        return not self._store.subscriptions.of_connection(connection_id)
