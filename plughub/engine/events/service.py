"""`Events`: subscriptions, inbound webhooks, polls and deliveries, with the jobs that run them."""

from __future__ import annotations

import asyncio
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
from plughub.engine.events.deliveries import FRESH_GRACE, Deliverer
from plughub.engine.events.history import event_info
from plughub.engine.events.inbound import Inbound, InboundAnswer
from plughub.engine.events.jobs import InProcessJobs, Jobs, TaskFunctions
from plughub.engine.events.polls import Polls
from plughub.engine.events.subscriptions import Subscriptions
from plughub.engine.events.unsubscribing import ConnectionSubscriptions
from plughub.engine.http.guard import Guard
from plughub.engine.oauth.apps import OAuthApps
from plughub.engine.observers import RunObserver
from plughub.engine.store import LOCAL_TEAM, Store, utcnow
from plughub.engine.store.subscriptions import PENDING
from plughub.exceptions import InvalidInput
from plughub.schemas import DeliveryInfo, EventInfo

__all__ = ["Events"]

logger = logging.getLogger("plughub.events")

# Found due per scan at most (subscriptions with deliveries, polls, subscribe calls); the next scan takes the rest.
_SCAN_BATCH = 500
# A new event's delivery is taken at once by the process that stored it; the scans leave it that
# long to that process, so that under load other processes do not race it for every fresh one.
_FRESH_GRACE = timedelta(seconds=FRESH_GRACE)


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
        transport: A transport that stands in for the network for deliveries (tests).
        guard: The outbound guard deliveries pass (a server's); None sends anywhere.

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
        guard: Guard | None = None,
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
            store=store,
            credentials=credentials,
            delays=settings.delivery_retry_delays,
            transport=transport,
            guard=guard,
            finished=self._delivery_finished,
            timeout=settings.delivery_timeout,
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
        if answer.stored and answer.subscription_id:
            self._defer_deliveries(answer.subscription_id, answer.stored)
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
        self._defer_deliveries(found.id, outcome.stored if found.target_url else [])
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
        self._defer_deliveries(delivery.subscription_id, [event_id])
        return delivery

    # The worker

    def start_worker(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Run jobs and send deliveries in this process (`plughub serve`, `plughub worker`).

        Args:
            loop: The running event loop to send deliveries from, when called on it (the
                server's); None for a thread of their own.
        """
        self.deliverer.start(loop)
        self.jobs.start()

    def stop_worker(self) -> None:
        """Stop running jobs and sending deliveries (the ones under way finish)."""
        self.jobs.stop()
        self.deliverer.stop()

    def close(self) -> None:
        """Stop the worker and close the deliveries' connections."""
        self.stop_worker()

    def scan(self) -> None:
        """Defer the deliveries, polls, subscribe and unsubscribe attempts and connection deletions that are due.

        A periodic job. A connection's deletion is due when no process holds it and none of its
        subscriptions is `deleting`: the process that deleted it died midway.
        """
        now = utcnow()
        # One job per subscription with due deliveries (one queued at a time): the worker that
        # takes it goes on taking that subscription's due deliveries until none is left.
        for subscription_id in self._store.events.due(now, now - _FRESH_GRACE, _SCAN_BATCH):
            self.jobs.defer("deliver", subscription_id=subscription_id)
        for subscription_id in self._store.subscriptions.due_polls(now, _SCAN_BATCH):
            self.jobs.defer("poll", subscription_id=subscription_id)
        for subscription_id, status in self._store.subscriptions.due_jobs(now, _SCAN_BATCH):
            task = "subscribe" if status == PENDING else "unsubscribe"
            self.jobs.defer(task, subscription_id=subscription_id)
        for connection_id in self._store.connections.due_deletions(now, _SCAN_BATCH):
            self.jobs.defer("delete_connection", connection_id=connection_id)

    def _defer_deliveries(self, subscription_id: str, event_ids: builtins.list[str]) -> None:
        if not event_ids or self.deliverer.submit(subscription_id, event_ids):
            return  # this process sends them (it runs a worker)
        try:
            self.jobs.defer("deliver", subscription_id=subscription_id, event_ids=event_ids)
        except Exception:  # stored and pending: the next scan defers them
            logger.warning("could not defer %d deliveries; the scan will", len(event_ids), exc_info=True)

    def queue_depth(self) -> dict[str, int]:
        """The work waiting, for the server's metrics (`plughub_queue_depth`).

        Returns:
            `{"deliveries": n}`: deliveries waiting for their first attempt or a retry.
        """
        return {"deliveries": self._store.events.pending_count()}

    def _deliver(
        self,
        subscription_id: str | None = None,
        event_ids: builtins.list[str] | None = None,
        event_id: str | None = None,
    ) -> None:
        """The `deliver` job: a subscription's given events, or its due deliveries.

        `event_id` is what jobs deferred by an earlier release carry (one job per event).
        """
        if event_id is not None:
            found = self._store.events.delivery(event_id)
            subscription_id, event_ids = (found.subscription_id, [event_id]) if found else (None, None)
        if subscription_id is None:
            return
        if event_ids:
            self.deliverer.submit(subscription_id, event_ids)  # not running (stopping): a scan takes them
        else:
            self.deliverer.take_due(subscription_id)

    def _delivery_finished(self, status: str) -> None:
        if self.observer is not None:
            self.observer.delivery_finished(status)

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
            self._defer_deliveries(subscription_id, outcome.stored)
