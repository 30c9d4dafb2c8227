"""Hooks through which a server watches runs (metrics, traces) without the engine importing either.

The engine calls them only when they are set (`Engine.instrument`); unset, a run pays one `is None`
test per hook. What the hooks receive is what metrics and traces may show: integration ids, action
codes, statuses and times, never inputs, outputs or credentials.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol

import httpx

from plughub.schemas import ActionResult

__all__ = ["NO_SPAN", "RunObserver", "RunSpan", "RunTracer"]


class RunObserver(Protocol):
    """Told of every finished run, OAuth 2.0 refresh and event delivery attempt (the server's metrics)."""

    def run_finished(self, integration: str, action: str, result: ActionResult) -> None:
        """A run (an action's, a page's, a proxied request) finished.

        Args:
            integration: The integration id.
            action: The action code (`PROXY` for a proxied request).
            result: How it went (`status`, `status_code`, `run_time`, `error_code` are read).
        """

    def refresh_finished(self, integration: str, outcome: str) -> None:
        """A token request to refresh a connection's OAuth 2.0 tokens was answered.

        Args:
            integration: The integration id.
            outcome: `refreshed`, `expired` (the provider refused the refresh token) or `failed`.
        """

    def delivery_finished(self, status: str) -> None:
        """An attempt to push an event to a subscription's target was made.

        Args:
            status: The delivery's status after it: `delivered`, `pending` (a retry will follow) or `failed`.
        """


class RunSpan(Protocol):
    """The span of one run, open while the run sends its requests."""

    def finished(self, result: ActionResult) -> None:
        """Record how the run went (status, upstream status) on the span.

        Args:
            result: The run's result.
        """


class RunTracer(Protocol):
    """Opens a span per run and stamps each upstream request with the current trace (`traceparent`)."""

    def run(self, integration: str, action: str) -> AbstractContextManager[RunSpan]:
        """A span around one run, current while it lasts.

        Args:
            integration: The integration id.
            action: The action code.

        Returns:
            A context manager giving the span.
        """

    def inject(self, request: httpx.Request) -> None:
        """Add the current trace's headers (W3C `traceparent`) to a request about to go upstream.

        Args:
            request: The request (its headers are changed in place).
        """


class _NoSpan:
    """The span of a run when nothing traces."""

    def finished(self, result: ActionResult) -> None:
        """Nothing to record.

        Args:
            result: The run's result (ignored).
        """

    def __enter__(self) -> _NoSpan:
        return self

    def __exit__(self, *_exc: object) -> None:
        return None


NO_SPAN = _NoSpan()  # a context manager and its span at once: `with NO_SPAN as span: ...`
