"""Poll triggers: run the trigger's list action, emit one event per identity not seen before.

The first poll records what exists and emits nothing; later polls emit the new items (by the
trigger's `id` pointer), following the action's pagination. The next poll is due after the
trigger's interval, never less than `PLUGHUB_POLL_MIN_INTERVAL`. A failing poll backs off
(doubling, at most an hour) and shows on the subscription (`status: failing`, `last_error`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from plughub.config import Settings
from plughub.engine.actions.service import ActionService
from plughub.engine.catalog import Catalog
from plughub.engine.catalog.triggers import PollTriggerSpec
from plughub.engine.credentials import Credentials
from plughub.engine.events.inbound import new_event_id
from plughub.engine.events.values import fill
from plughub.engine.json_pointer import MISSING, resolve
from plughub.engine.store import Store, utcnow
from plughub.engine.store.events import NewEvent
from plughub.engine.store.subscriptions import SubscriptionRecord, subscription_record_id
from plughub.enums import ResponseStatus
from plughub.exceptions import PlughubError

__all__ = ["MAX_BACKOFF", "MAX_SEEN", "PollOutcome", "Polls"]

logger = logging.getLogger("plughub.events")

# The identities remembered per subscription (the newest are kept).
MAX_SEEN = 5000
# The longest wait after failures, in seconds.
MAX_BACKOFF = 3600.0
# Pages read per poll at most (a first poll of a long list stops there; what it did not read
# counts as new later only if it moves into the pages read).
MAX_PAGES = 20
_LEASE = 300.0


class PollOutcome:
    """What a poll did: the events it stored, or the error that stopped it."""

    def __init__(self, stored: list[str], error: str | None = None, first: bool = False) -> None:
        self.stored = stored
        self.error = error
        self.first = first

    def __repr__(self) -> str:
        return f"PollOutcome(stored={len(self.stored)}, error={self.error!r}, first={self.first})"


class Polls:
    """Runs poll triggers.

    Args:
        catalog: The triggers.
        actions: Runs the list action (and its pages).
        store: Subscriptions and events.
        credentials: Opens the subscription's secret config values.
        settings: `PLUGHUB_POLL_MIN_INTERVAL`.
    """

    def __init__(
        self, *, catalog: Catalog, actions: ActionService, store: Store, credentials: Credentials, settings: Settings
    ) -> None:
        self._catalog = catalog
        self._actions = actions
        self._store = store
        self._credentials = credentials
        self._settings = settings

    def __repr__(self) -> str:
        return "Polls()"

    def poll(self, subscription_id: str, *, force: bool = False) -> PollOutcome | None:
        """Poll a subscription once, if it is due (or `force`) and no other process is polling it.

        Args:
            subscription_id: The subscription.
            force: Poll even when the next poll is not due (`poll_now`).

        Returns:
            What the poll did, or None when it did not run.
        """
        found = self._store.subscriptions.claim_poll(subscription_id, _LEASE, force=force)
        if found is None:
            return None
        try:
            trigger = self._catalog.spec(found.integration_id, found.team_id).triggers.get(found.trigger)
            if not isinstance(trigger, PollTriggerSpec):
                raise PlughubError(f"{found.trigger} is no longer a poll trigger of {found.integration_id}")
            identities, items = self._read(found, trigger)
        except Exception as exc:  # any failure backs off and shows on the subscription
            message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            failures = found.poll_failures + 1
            interval = self._interval(found, None)
            wait = min(MAX_BACKOFF, interval * 2 ** min(failures, 10))
            self._store.subscriptions.update(
                found.id,
                status="failing",
                last_error=message[:1000],
                poll_failures=failures,
                next_poll_at=utcnow() + timedelta(seconds=wait),
                lease_until=None,
            )
            logger.warning("poll of %s failed (%d in a row): %s", found.id, failures, message)
            return PollOutcome([], message)
        state = found.poll_state or {}
        first = "seen" not in state
        seen = list(state.get("seen") or [])
        known = set(seen)
        new = [(ident, item) for ident, item in zip(identities, items, strict=True) if ident not in known]
        stored: list[str] = []
        if not first and new:
            events = [NewEvent(new_event_id(), found.trigger, item, ident) for ident, item in reversed(new)]
            stored = self._store.events.store(found.id, events, deliver=bool(found.target_url))
        seen.extend(ident for ident, _ in new)
        self._store.subscriptions.update(
            found.id,
            status="active",
            last_error=None,
            poll_failures=0,
            poll_state={"seen": seen[-MAX_SEEN:]},
            next_poll_at=utcnow() + timedelta(seconds=self._interval(found, trigger)),
            lease_until=None,
        )
        return PollOutcome(stored, None, first)

    def _interval(self, found: SubscriptionRecord, trigger: PollTriggerSpec | None) -> float:
        interval = float(trigger.interval) if trigger is not None else 300.0
        return max(interval, self._settings.poll_min_interval)

    def _read(self, found: SubscriptionRecord, trigger: PollTriggerSpec) -> tuple[list[str], list[Any]]:
        secret_config = self._credentials.read(subscription_record_id(found.id)).get("config") or {}
        record = self._store.connections.get(found.connection_id)
        values = {
            "config": {**found.config, **secret_config},
            "connection_config": dict(record.config) if record else {},
        }
        inputs = fill(trigger.inputs, values)
        identities: list[str] = []
        items: list[Any] = []
        for item in self._items(found, trigger, inputs):
            ident = resolve(item, trigger.id)
            if ident is MISSING or ident is None or isinstance(ident, (dict, list)):
                raise PlughubError(f"an item of {trigger.action} has no identity at {trigger.id}")
            identities.append(str(ident))
            items.append(item)
        return identities, items

    def _items(self, found: SubscriptionRecord, trigger: PollTriggerSpec, inputs: Any) -> Iterator[Any]:
        spec = self._catalog.spec(found.integration_id, found.team_id)
        action = spec.actions.get(trigger.action)
        if action is not None and action.pagination is not None:
            pages = self._actions.pages(
                found.connection_id, trigger.action, inputs, team=found.team_id, max_pages=MAX_PAGES
            )
            for result, _ in pages:
                if result.status is not ResponseStatus.SUCCESS:
                    raise PlughubError(f"{trigger.action} failed: {result.error_message or result.error_code}")
                page = result.data
                if trigger.items and isinstance(page, dict):
                    page = resolve(page, trigger.items)
                yield from page if isinstance(page, list) else []
            return
        result = self._actions.run(found.connection_id, trigger.action, inputs, team=found.team_id)
        if result.status is not ResponseStatus.SUCCESS:
            raise PlughubError(f"{trigger.action} failed: {result.error_message or result.error_code}")
        listed = resolve(result.data, trigger.items or "")
        if not isinstance(listed, list):
            raise PlughubError(f"the answer of {trigger.action} has no list at {trigger.items or 'its root'}")
        yield from listed
