"""The driver: signs, sends and audits calls (an action's, a page's, a proxied request).

A `Call` says what to send; `steps` says when to refresh. The driver answers the steps: it builds
or reuses the connection's signer, sends through the `Sender` (in this thread, or on the server's
event loop), refreshes tokens through the OAuth flows, and records each call in the audit. The
actions and the proxy share it, so the rules are the same whatever sends the request.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any

from plughub.engine.actions.call import Call, Refresh, Send, Step, build_signer, steps
from plughub.engine.actions.signers import Signer, Signers
from plughub.engine.audit import AuditLog
from plughub.engine.auth import app_fields
from plughub.engine.catalog.models import IntegrationSpec
from plughub.engine.catalog.templates import variables
from plughub.engine.credentials import Credentials
from plughub.engine.http.send import Answer, Sender
from plughub.engine.oauth.apps import OAuthApps
from plughub.engine.oauth.flows import OAuthFlows
from plughub.engine.observers import NO_SPAN, RunObserver, RunSpan, RunTracer
from plughub.engine.store import ConnectionRecord, RunRecord, Store
from plughub.enums import AuthenticationSchema
from plughub.exceptions import OAuthError
from plughub.schemas import ActionResult

__all__ = ["Driver", "uses_app"]


def uses_app(spec: IntegrationSpec, scheme: AuthenticationSchema | None = None) -> bool:
    """Whether a connection's requests need its integration's OAuth app (`${app.x}` templates).

    Args:
        spec: The integration.
        scheme: The connection's scheme; its own placements count too (an OAuth 2.0 `apply`).

    Returns:
        Whether the integration's headers, or the scheme's placements, use `${app.x}`.
    """
    templates = list(spec.headers.values())
    auth = spec.auth_for(scheme) if scheme is not None else None
    if auth is not None and auth.apply and scheme is AuthenticationSchema.OAUTH2:
        for item in auth.apply_items():
            templates += [item.format or ""]
            if item.basic is not None:
                templates += [item.basic.username, item.basic.password]
    return any(namespace == "app" for template in templates for namespace, _name in variables(template))


class Driver:
    """Runs calls: signers (kept a moment between calls), sends, token refreshes, the audit.

    Args:
        store: The sealed credentials (read on every call, through the read cache).
        credentials: Opens them.
        oauth: Refreshes OAuth 2.0 tokens.
        oauth_apps: The OAuth apps (OAuth 1.0a signs with its app; `${app.x}` templates read theirs).
        sender: Sends requests (retries, redirects, results).
        signers: The signers kept between calls.
        audit: Where calls are audited; None audits nothing.

    Attributes:
        sender: Sends requests.
        observer: Told of every finished run (metrics); None by default (`Engine.instrument`).
        tracer: Opens a span per run (traces); None by default (`Engine.instrument`).
    """

    def __init__(
        self,
        *,
        store: Store,
        credentials: Credentials,
        oauth: OAuthFlows,
        oauth_apps: OAuthApps,
        sender: Sender,
        signers: Signers,
        audit: AuditLog | None,
    ) -> None:
        self._store = store
        self._credentials = credentials
        self._oauth = oauth
        self._oauth_apps = oauth_apps
        self._signers = signers
        self._audit = audit
        self.sender = sender
        self.observer: RunObserver | None = None
        self.tracer: RunTracer | None = None

    def __repr__(self) -> str:
        return f"Driver(audited={self.audited})"

    @property
    def audited(self) -> bool:
        """Whether every call is recorded in the audit."""
        return self._audit is not None

    def app(self, spec: IntegrationSpec, record: ConnectionRecord) -> dict[str, Any]:
        """The non-secret fields of the integration's OAuth app, when the connection's requests use them.

        Args:
            spec: The integration.
            record: The connection.

        Returns:
            The fields (`client_id`), or nothing when no template uses them.

        Raises:
            OAuthAppMissing: A template uses them and the team has no app for the integration
                (the message says how to set one).
        """
        if not uses_app(spec):
            return {}
        return app_fields(self._oauth_apps.app(spec.id, record.team_id))

    def signer(self, record: ConnectionRecord, spec: IntegrationSpec) -> Signer:
        """The connection's signer: kept from a recent call, or built from its opened credentials.

        Args:
            record: The connection.
            spec: Its integration.

        Returns:
            The signer.

        Raises:
            InvalidCredentials: The stored credentials cannot go where the scheme puts them.
        """
        blob = self._store.credentials.get(record.id)
        cached = self._signers.get(record, spec, blob)
        if cached is not None:
            return cached
        opened = self._credentials.open(record.id, blob) if blob else {}
        return self._signers.put(record, spec, blob, self._build(spec, record, opened))

    def _build(self, spec: IntegrationSpec, record: ConnectionRecord, credentials: Mapping[str, Any]) -> Signer:
        scheme = AuthenticationSchema(record.scheme)
        needs_app = scheme is AuthenticationSchema.OAUTH1 or uses_app(spec, scheme)
        app = self._oauth_apps.app(spec.id, record.team_id) if needs_app else None
        return build_signer(spec, record, credentials, app)

    def span(self, record: ConnectionRecord, code: str) -> AbstractContextManager[RunSpan]:
        """The span of a run, current while the run lasts (a no-op span when nothing traces).

        Args:
            record: The connection.
            code: The action code.

        Returns:
            A context manager giving the span; call its `finished(result)` before leaving.
        """
        tracer = self.tracer
        return NO_SPAN if tracer is None else tracer.run(record.integration_id, code)

    def drive(self, call: Call) -> Answer:
        """Run a call's steps in this thread (in a span of its own when a tracer is set).

        Args:
            call: The call.

        Returns:
            Its answer.
        """
        if self.tracer is None:
            return self._drive(call)
        with self.tracer.run(call.record.integration_id, call.action) as span:
            answer = self._drive(call)
            span.finished(answer.result)
        return answer

    def _drive(self, call: Call) -> Answer:
        plan: Step = steps(call)
        try:
            step = next(plan)
            while True:
                if isinstance(step, Send):
                    signer = step.signer
                    step = plan.send(self.sender.answer(call.label, step.request, signer.auth, signer.redactor))
                    continue
                try:
                    refreshed = self._refreshed(call, step)
                except OAuthError as exc:
                    step = plan.throw(exc)
                else:
                    step = plan.send(refreshed)
        except StopIteration as done:
            answer: Answer = done.value
            return answer

    async def drive_async(self, call: Call) -> Answer:
        """Run a call's steps on the running event loop (a token refresh goes to a worker thread).

        Args:
            call: The call.

        Returns:
            Its answer.
        """
        if self.tracer is None:
            return await self._drive_async(call)
        with self.tracer.run(call.record.integration_id, call.action) as span:
            answer = await self._drive_async(call)
            span.finished(answer.result)
        return answer

    async def _drive_async(self, call: Call) -> Answer:
        from anyio import to_thread  # httpx's dependency; only the server's loop needs it

        plan = steps(call)
        try:
            step = next(plan)
            while True:
                if isinstance(step, Send):
                    signer = step.signer
                    step = plan.send(
                        await self.sender.answer_async(call.label, step.request, signer.auth, signer.redactor)
                    )
                    continue
                try:
                    refreshed = await to_thread.run_sync(self._refreshed, call, step)
                except OAuthError as exc:
                    step = plan.throw(exc)
                else:
                    step = plan.send(refreshed)
        except StopIteration as done:
            answer: Answer = done.value
            return answer

    def _refreshed(self, call: Call, step: Refresh) -> Signer:
        """Refresh the token the step's signer holds (once across callers) and sign with the new one."""
        if call.oauth2 is None:
            raise TypeError("only OAuth 2.0 calls are refreshed")
        seen = step.signer.credentials
        credentials = self._oauth.refresh(call.record, call.oauth2, seen, force=step.force)
        return self._build(call.spec, call.record, credentials)

    def audit(self, record: ConnectionRecord, code: str, result: ActionResult) -> None:
        """Record a finished call in the audit (when the engine audits) and tell the observer.

        Args:
            record: The connection.
            code: The action code (`PROXY` for a proxied request).
            result: How it went.
        """
        if self.observer is not None:
            self.observer.run_finished(record.integration_id, code, result)
        if self._audit is not None:
            self._audit.record(
                RunRecord(
                    team_id=record.team_id,
                    connection_id=record.id,
                    action=code,
                    status=result.status.value,
                    upstream_status=result.status_code,
                    error_code=result.error_code,
                    duration_ms=round(result.run_time * 1000, 3),
                )
            )
