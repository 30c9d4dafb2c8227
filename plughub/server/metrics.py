"""The server's Prometheus metrics: what they count, and their text exposition.

`plughub serve` runs prometheus-client in multiprocess mode: it gives every start a fresh
`PROMETHEUS_MULTIPROC_DIR` (see `plughub.server.metrics_dir`), each worker writes its counters to
its own files there, and whichever worker answers `/metrics` reads them all, so that any scrape
sees the sum over the workers. Without that variable (an application built by `create_app` in a
program of one's own) the metrics are the process's own.

Labels hold only bounded, non-secret values: integration ids, action codes, statuses, outcomes,
HTTP methods and route templates (never a raw path: connect and webhook paths carry tokens).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from plughub.enums import ResponseStatus
from plughub.schemas import ActionResult
from plughub.server.metrics_dir import MULTIPROC_ENV

__all__ = ["LATENCY_BUCKETS", "MULTIPROC_ENV", "Metrics", "exposition", "multiprocess_dir", "process_metrics"]

# Seconds: an upstream API answers in milliseconds to tens of seconds (the read timeout is 30 s).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# An action label is a definition's code or an MCP server's tool name; anything else is "other".
_LABEL = re.compile(r"[A-Za-z0-9_.:/-]{1,100}")


def multiprocess_dir() -> str | None:
    """The multiprocess directory of this process's metrics, if prometheus-client runs in that mode.

    Returns:
        `PROMETHEUS_MULTIPROC_DIR`, or None.
    """
    return os.environ.get(MULTIPROC_ENV) or None


class Metrics:
    """The metric families a server process updates, and the observer the engine tells of runs.

    Args:
        registry: Where the families are registered; None in multiprocess mode (each value lives
            in the process's files, read back by `MultiProcessCollector`).

    Attributes:
        registry: The registry (None in multiprocess mode).
        queue_depth: Jobs waiting, read at each scrape (the events' job queue sets it); None leaves
            `plughub_queue_depth` out.
    """

    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.registry = registry
        self.queue_depth: Callable[[], Mapping[str, int]] | None = None
        self._runs = Counter(
            "plughub_action_runs",
            "Action runs (pages and proxied requests included) by integration, action and status.",
            ["integration", "action", "status"],
            registry=registry,
        )
        self._latency = Histogram(
            "plughub_upstream_latency_seconds",
            "Time the upstream service took to answer a run's request (retries included), in seconds.",
            ["integration", "action"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self._refreshes = Counter(
            "plughub_oauth_refreshes",
            "OAuth 2.0 token refreshes by integration and outcome (refreshed, expired, failed).",
            ["integration", "outcome"],
            registry=registry,
        )
        self._requests = Counter(
            "plughub_http_requests",
            "HTTP requests served, by method, route template and status.",
            ["method", "route", "status"],
            registry=registry,
        )
        self._request_time = Histogram(
            "plughub_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template, in seconds.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self._deliveries = Counter(
            "plughub_event_deliveries",
            "Attempts to push events to subscribers' target URLs, by the delivery's status after each "
            "(delivered, pending, failed).",
            ["status"],
            registry=registry,
        )
        # Label lookups cost more than the increments: each label set's child is kept.
        self._children: dict[tuple[Any, ...], Any] = {}
        # A run's two children, by integration, action label and status: one lookup per run.
        self._run_children: dict[tuple[str, str, ResponseStatus], tuple[Any, Any]] = {}
        self._request_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}  # likewise, per request

    def __repr__(self) -> str:
        return f"Metrics(multiprocess={self.registry is None})"

    def _child(self, family: Any, *labels: str) -> Any:
        key = (id(family), *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = family.labels(*labels)
        return child

    # The engine's observer (plughub.engine.observers.RunObserver)

    def run_finished(self, integration: str, action: str, result: ActionResult) -> None:
        """Count a finished run and, when the service answered, its upstream latency.

        Args:
            integration: The integration id.
            action: The action code.
            result: How it went.
        """
        action = action if _LABEL.fullmatch(action) else "other"  # an MCP tool's name may be anything
        children = self._run_children.get((integration, action, result.status))
        if children is None:
            children = self._run_children[(integration, action, result.status)] = (
                self._child(self._runs, integration, action, result.status.value),
                self._child(self._latency, integration, action),
            )
        children[0].inc()
        if result.status_code is not None or result.status is ResponseStatus.SUCCESS:
            children[1].observe(result.run_time)

    def refresh_finished(self, integration: str, outcome: str) -> None:
        """Count a token refresh.

        Args:
            integration: The integration id.
            outcome: `refreshed`, `expired` or `failed`.
        """
        self._child(self._refreshes, integration, outcome).inc()

    def delivery_finished(self, status: str) -> None:
        """Count an event delivery attempt (the hook the events' delivery jobs call).

        Args:
            status: `delivered`, `pending` (a retry will follow) or `failed`.
        """
        self._child(self._deliveries, status).inc()

    # HTTP

    def request_finished(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count an HTTP request the server answered.

        Args:
            method: The HTTP method (another than the usual ones counts as `other`).
            route: The route template that matched (`unmatched` when none did).
            status: The answer's status.
            seconds: How long the answer took.
        """
        method = method if method in _METHODS else "other"  # a client's method is not a key of its own
        children = self._request_children.get((method, route, status))
        if children is None:
            children = self._request_children[(method, route, status)] = (
                self._child(self._requests, method, route, str(status)),
                self._child(self._request_time, method, route),
            )
        children[0].inc()
        children[1].observe(seconds)


_SHARED: Metrics | None = None


def process_metrics() -> Metrics:
    """The metrics a server application updates.

    In multiprocess mode, one set per process (two would overwrite each other's values in the
    process's files); otherwise a set of its own, with its own registry, per application.

    Returns:
        The metrics.
    """
    global _SHARED
    if multiprocess_dir() is None:
        return Metrics(CollectorRegistry(auto_describe=True))
    if _SHARED is None:
        _SHARED = Metrics(None)
    return _SHARED


class _Families(Collector):
    """Yields the families of a registry (the process's own metrics, in single-process mode)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry

    def collect(self) -> Iterator[Any]:
        yield from self._registry.collect()


class _Gauges(Collector):
    """Gauges computed at scrape time: connections by status, the job queue's depth."""

    def __init__(self, connections: Mapping[tuple[str, str], int], queues: Mapping[str, int] | None) -> None:
        self._connections = connections
        self._queues = queues

    def collect(self) -> Iterator[Any]:
        family = GaugeMetricFamily(
            "plughub_connections",
            "Connections of every team by integration and status.",
            labels=["integration", "status"],
        )
        for (integration, status), count in sorted(self._connections.items()):
            family.add_metric([integration, status], count)
        yield family
        if self._queues is not None:
            depth = GaugeMetricFamily("plughub_queue_depth", "Jobs waiting in the job queue.", labels=["queue"])
            for queue, count in sorted(self._queues.items()):
                depth.add_metric([queue], count)
            yield depth


def exposition(metrics: Metrics, connections: Mapping[tuple[str, str], int]) -> bytes:
    """The metrics in Prometheus text format: every worker's counters, and the gauges read now.

    Args:
        metrics: The process's metrics.
        connections: The connection counts (`ConnectionService.counts`).

    Returns:
        The text (`prometheus_client.CONTENT_TYPE_LATEST`).
    """
    registry = CollectorRegistry()
    path = multiprocess_dir()
    if path is not None:
        MultiProcessCollector(registry, path=path)  # type: ignore[no-untyped-call]  # registers itself
    elif metrics.registry is not None:
        registry.register(_Families(metrics.registry))
    registry.register(_Gauges(connections, metrics.queue_depth() if metrics.queue_depth else None))
    return generate_latest(registry)
