"""`Events`: subscriptions, inbound webhooks, polls and deliveries, with the jobs that run them."""

from __future__ import annotations

import builtins
import logging
from collections.abc import Mapping
from datetime import timedelta

import httpx

from plughub.config import Settings
from plughub.engine.actions.service import ActionService
from plughub.engine.catalog import Catalog
from plughub.engine.connections.service import ConnectionService
from plughub.engine.credentials import Credentials
from plughub.engine.events.deliveries import Deliverer
from plughub.engine.events.history import event_info
from plughub.engine.events.inbound import Inbound, InboundAnswer
from plughub.engine.events.jobs import InProcessJobs, Jobs, TaskFunctions
from plughub.engine.events.polls import Polls
from plughub.engine.events.subscriptions import Subscriptions
from plughub.engine.events.unsubscribing import ConnectionSubscriptions
from plughub.engine.oauth.apps import OAuthApps
from plughub.engine.observers import RunObserver
from plughub.engine.store import LOCAL_TEAM, Store, utcnow
from plughub.engine.store.subscriptions import PENDING
from plughub.exceptions import InvalidInput
from plughub.schemas import DeliveryInfo, EventInfo

__all__ = ["Events"]

logger = logging.getLogger("plughub.events")

# Found due per scan at most (the next scan takes the rest).
_SCAN_BATCH = 500
# A new event's delivery is deferred at once by the process that stored it; the scan leaves it
# that long before taking it, so that under load the other processes' scans do not race that
# process for every fresh delivery (each lost race is a write transaction for nothing).
_SCAN_GRACE = timedelta(seconds=2)


class Events:
    """Events (DESIGN.md §10): the services, and the jobs that poll and deliver.

    Args:
        catalog: The definitions.
        connections: Finds a team's connection.
        actions: Runs subscribe, unsubscribe and list actions.
        store: The database.
        credentials: Seals and opens the subscriptions' secrets.
        oauth_apps: Signing secrets of the teams' apps.
        settings: Public URL, retry delays, poll interval floor.
        transport: The transport deliveries go through (the outbound guard's on a server).

    Attributes:
        subscriptions: Subscribe, list, get, pull events, deliveries, delete.
        inbound: Checks and stores the providers' webhooks.
        polls: Runs poll triggers.
        deliverer: Pushes events to target URLs.
        connection_subscriptions: The connections service's deletion hook (a deleted
            connection's subscriptions, unsubscribed first).
        jobs: Where polls, deliveries, subscribe and unsubscribe jobs (and the end of a
            connection's deletion) are deferred, and the worker that runs them.
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
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._store = store
        self._connections = connections
        self.observer: RunObserver | None = None  # told of each delivery attempt (`Engine.instrument`)
        self.subscriptions = Subscriptions(
            catalog=catalog,
            connections=connections,
            actions=actions,
            store=store,
            credentials=credentials,
            oauth_apps=oauth_apps,
            settings=settings,
        )
        self.inbound = Inbound(
            catalog=catalog, store=store, credentials=credentials, oauth_apps=oauth_apps, settings=settings
        )
        self.polls = Polls(catalog=catalog, actions=actions, store=store, credentials=credentials, settings=settings)
        self.deliverer = Deliverer(
            store=store, credentials=credentials, delays=settings.delivery_retry_delays, transport=transport
        )
        tasks: TaskFunctions = {
            "deliver": self._deliver,
            "poll": self._poll,
            "subscribe": self._subscribe,
            "unsubscribe": self._unsubscribe,
            "delete_connection": self._delete_connection,
            "scan": self.scan,
        }
        self.jobs: Jobs
        if store.db.dialect == "postgresql":
            from plughub.engine.events.queue import ProcrastinateJobs, libpq_dsn

            self.jobs = ProcrastinateJobs(libpq_dsn(store.db.sql_engine.url), tasks)
        else:
            self.jobs = InProcessJobs(tasks)
        self.subscriptions.defer = lambda task, subscription_id: self.jobs.defer(task, subscription_id=subscription_id)
        self.connection_subscriptions = ConnectionSubscriptions(
            catalog=catalog, store=store, registrar=self.subscriptions.registrar, defer=self.subscriptions.ask_job
        )

    def __repr__(self) -> str:
        return f"Events(jobs={self.jobs!r})"

    # Calls that start jobs

    def receive(self, token: str, body: bytes, headers: Mapping[str, str], query: str = "") -> InboundAnswer:
        """Check and store a provider's webhook, then defer its delivery.

        Args:
            token: The webhook URL's token.
            body: The exact body.
            headers: The request headers.
            query: The URL's query string.

        Returns:
            What to answer the provider (see `Inbound.receive`).
        """
        answer = self.inbound.receive(token, body, headers, query)
        self._defer_deliveries(answer.stored)
        return answer

    def poll_now(self, subscription_id: str, *, team: str = LOCAL_TEAM) -> builtins.list[EventInfo]:
        """Run a poll trigger's subscription at once.

        Args:
            subscription_id: The subscription.
            team: The team that owns it.

        Returns:
            The new events (none after the first poll, which records what exists).

        Raises:
            SubscriptionNotFound: No subscription has this id.
            InvalidInput: It is not a poll trigger's, or a poll of it is under way.
            ActionError: The poll failed (also recorded on the subscription).
        """
        found = self.subscriptions.record(subscription_id, team)
        if found.kind != "poll":
            raise InvalidInput(f"{found.trigger} is a webhook trigger: its events come from the provider")
        outcome = self.polls.poll(found.id, force=True)
        if outcome is None:
            raise InvalidInput(f"a poll of {found.id} is under way; try again when it ends")
        if outcome.error is not None:
            from plughub.exceptions import ActionError

            raise ActionError(f"the poll of {found.id} failed: {outcome.error}")
        self._defer_deliveries(outcome.stored if found.target_url else [])
        stored = set(outcome.stored)
        events = self._store.events.after(found.id, None, 1000) if stored else []
        return [event_info(found, e) for e in events if e.id in stored]

    def redeliver(self, subscription_id: str, event_id: str, *, team: str = LOCAL_TEAM) -> DeliveryInfo:
        """Send an event to the subscription's target again (see `Subscriptions.redeliver`).

        Args:
            subscription_id: The subscription.
            event_id: The event.
            team: The team that owns it.

        Returns:
            The delivery, pending.
        """
        delivery = self.subscriptions.redeliver(subscription_id, event_id, team=team)
        self._defer_deliveries([event_id])
        return delivery

    # The worker

    def start_worker(self) -> None:
        """Run jobs in this process (`plughub serve`, `plughub worker`)."""
        self.jobs.start()

    def stop_worker(self) -> None:
        """Stop running jobs (the ones under way finish)."""
        self.jobs.stop()

    def close(self) -> None:
        """Stop the worker and close the deliveries' connections."""
        self.jobs.stop()
        self.deliverer.close()

    def scan(self) -> None:
        """Defer the deliveries, polls, subscribe and unsubscribe attempts and connection deletions that are due.

        A periodic job. A connection's deletion is due when no process holds it and none of its
        subscriptions is `deleting`: the process that deleted it died midway.
        """
        now = utcnow()
        for event_id in self._store.events.due(now - _SCAN_GRACE, _SCAN_BATCH):
            self.jobs.defer("deliver", event_id=event_id)
        for subscription_id in self._store.subscriptions.due_polls(now, _SCAN_BATCH):
            self.jobs.defer("poll", subscription_id=subscription_id)
        for subscription_id, status in self._store.subscriptions.due_jobs(now, _SCAN_BATCH):
            task = "subscribe" if status == PENDING else "unsubscribe"
            self.jobs.defer(task, subscription_id=subscription_id)
        for connection_id in self._store.connections.due_deletions(now, _SCAN_BATCH):
            self.jobs.defer("delete_connection", connection_id=connection_id)

    def _defer_deliveries(self, event_ids: builtins.list[str]) -> None:
        for event_id in event_ids:
            try:
                self.jobs.defer("deliver", event_id=event_id)
            except Exception:  # stored and pending: the next scan defers it
                logger.warning("could not defer the delivery of %s; the scan will", event_id, exc_info=True)

    def queue_depth(self) -> dict[str, int]:
        """The work waiting, for the server's metrics (`plughub_queue_depth`).

        Returns:
            `{"deliveries": n}`: deliveries waiting for their first attempt or a retry.
        """
        return {"deliveries": self._store.events.pending_count()}

    def _deliver(self, event_id: str) -> None:
        status = self.deliverer.deliver(event_id)
        if status is not None and self.observer is not None:
            self.observer.delivery_finished(status)
        if status == "pending":
            delivery = self._store.events.delivery(event_id)
            if delivery is not None and delivery.next_at is not None:
                delay = max(0.0, (delivery.next_at - utcnow()).total_seconds())
                self.jobs.defer("deliver", delay=delay, event_id=event_id)

    def _subscribe(self, subscription_id: str) -> None:
        delay = self.subscriptions.registrar.subscribe(subscription_id)
        if delay is not None:
            self.jobs.defer("subscribe", delay=delay, subscription_id=subscription_id)

    def _unsubscribe(self, subscription_id: str) -> None:
        delay = self.subscriptions.registrar.unsubscribe(subscription_id)
        if delay is not None:
            self.jobs.defer("unsubscribe", delay=delay, subscription_id=subscription_id)

    def _delete_connection(self, connection_id: str) -> None:
        if not self.connection_subscriptions.stop(connection_id):
            self._connections.finish_deleting(connection_id)

    def _poll(self, subscription_id: str) -> None:
        outcome = self.polls.poll(subscription_id)
        if outcome is not None:
            self._defer_deliveries(outcome.stored)
