"""Run one action for a connection: credentials, OAuth refresh, signing, sending."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import httpx

from plughub.engine.auth import StaticAuth, auth_for
from plughub.engine.catalog.models import ActionSpec, IntegrationSpec, OAuth2Spec
from plughub.engine.http.render import build_request
from plughub.engine.oauth.flows import expiring
from plughub.engine.redact import Redactor
from plughub.engine.signers import Signer
from plughub.engine.store import ConnectionRecord
from plughub.enums import AuthenticationSchema, ResponseStatus
from plughub.exceptions import InvalidCredentials, OAuthError
from plughub.schemas import ActionResult

if TYPE_CHECKING:
    from plughub.engine.engine import Engine

__all__ = ["Call", "prepare", "resend_after_401", "run_action"]


@dataclass(frozen=True)
class Call:
    """An action ready to send: the connection, its signer and the rendered inputs.

    Attributes:
        label: Who is called, for messages ("GitHub GITHUB_GET_REPOSITORY").
        record: The connection (active).
        spec: Its integration.
        action: The action.
        inputs: Validated inputs.
        signer: Adds the credentials and hides them in what comes back.
        oauth2: The OAuth 2.0 scheme whose tokens may need a refresh, if the connection has one.
        first_request: The request of the first send, rendered before anything else so that an
            input that cannot be sent is refused before credentials are opened or refreshed.
    """

    label: str
    record: ConnectionRecord
    spec: IntegrationSpec
    action: ActionSpec
    inputs: Mapping[str, Any]
    signer: Signer
    oauth2: OAuth2Spec | None
    first_request: httpx.Request

    @property
    def refresh_due(self) -> bool:
        """Whether the access token expires within the definition's margin."""
        return self.oauth2 is not None and expiring(self.signer.credentials, self.oauth2.refresh_margin)

    def request(self) -> httpx.Request:
        """Render the request again, for another send (no credentials: the signer's auth flow adds them)."""
        return build_request(self.spec, self.action, self.inputs, self.record.config, base_url=self.record.base_url)


def prepare(
    engine: Engine,
    record: ConnectionRecord,
    spec: IntegrationSpec,
    code: str,
    action: ActionSpec,
    inputs: Mapping[str, Any],
) -> Call:
    """Open the connection's credentials (or take its cached signer); nothing is sent.

    Args:
        engine: The engine.
        record: The connection (active).
        spec: Its integration.
        code: The action code.
        action: The action.
        inputs: Validated inputs.

    Returns:
        The call.

    Raises:
        InvalidInput: The inputs cannot be sent as they are (see `build_request`).
    """
    first_request = build_request(spec, action, inputs, record.config, base_url=record.base_url)
    scheme = AuthenticationSchema(record.scheme)
    blob = engine.store.credentials.get(record.id)
    signer = engine.signers.get(record, spec, blob)
    if signer is None:
        opened = engine.credentials.open(record.id, blob) if blob else {}
        signer = engine.signers.put(record, spec, blob, _signer(engine, spec, scheme, record, opened))
    oauth2 = spec.auth_for(scheme)
    return Call(
        f"{spec.display_name} {code}",
        record,
        spec,
        action,
        inputs,
        signer,
        oauth2 if isinstance(oauth2, OAuth2Spec) else None,
        first_request,
    )


def run_action(
    engine: Engine,
    record: ConnectionRecord,
    spec: IntegrationSpec,
    code: str,
    action: ActionSpec,
    inputs: Mapping[str, Any],
) -> ActionResult:
    """Send an action with the connection's credentials, refreshing OAuth 2.0 tokens as needed.

    A token expiring within the definition's margin is refreshed before the call; a 401 answer
    triggers one refresh and one retry.

    Args:
        engine: The engine.
        record: The connection (active).
        spec: Its integration.
        code: The action code.
        action: The action.
        inputs: Validated inputs.

    Returns:
        The result; a refused refresh is a FAILED result with `error_code="connection_expired"`.
    """
    call = prepare(engine, record, spec, code, action, inputs)
    if call.refresh_due:
        try:
            call = _refreshed(engine, call, force=False)
        except OAuthError as exc:
            return _refused(call, exc)
    result = _send(engine, call, call.first_request)
    if call.oauth2 is not None and result.status_code == 401:
        return resend_after_401(engine, call)
    return result


def resend_after_401(engine: Engine, call: Call) -> ActionResult:
    """Refresh the OAuth 2.0 token the service refused, and send once more.

    Args:
        engine: The engine.
        call: The call that was answered 401.

    Returns:
        The second answer; a refused refresh is a FAILED result.
    """
    try:
        call = _refreshed(engine, call, force=True)
    except OAuthError as exc:
        return _refused(call, exc)
    return _send(engine, call, call.request())


def _refreshed(engine: Engine, call: Call, *, force: bool) -> Call:
    assert call.oauth2 is not None  # noqa: S101 - only OAuth 2.0 calls are refreshed
    credentials = engine.oauth.refresh(call.record, call.spec, call.oauth2, call.signer.credentials, force=force)
    scheme = AuthenticationSchema(call.record.scheme)
    return replace(call, signer=_signer(engine, call.spec, scheme, call.record, credentials))


def _refused(call: Call, exc: OAuthError) -> ActionResult:
    return ActionResult(
        status=ResponseStatus.FAILED,
        error_code=exc.code,
        error_message=f"{call.label}: {exc.message}",
        details=dict(exc.details),
    )


def _signer(
    engine: Engine,
    spec: IntegrationSpec,
    scheme: AuthenticationSchema,
    record: ConnectionRecord,
    credentials: Mapping[str, Any],
) -> Signer:
    app = engine.oauth_app(spec.id, record.team_id) if scheme is AuthenticationSchema.OAUTH1 else None
    auth = auth_for(spec, scheme, credentials, record.config, app)
    auth_spec = spec.auth_for(scheme)
    fields = auth_spec.credential_fields() if auth_spec else {}
    # Non-secret credential fields (a username, an account id) may legitimately come back.
    secrets = [v for k, v in credentials.items() if k not in fields or fields[k].secret is not False]
    if isinstance(auth, StaticAuth):
        unsendable = auth.unsendable()
        if unsendable:
            # Stored before connect checked these values: say so rather than fail in the HTTP library.
            raise InvalidCredentials(
                f"connection {record.id}: its stored credentials cannot go in the HTTP header "
                f"{', '.join(unsendable)} (a line break, a control character or text beyond ASCII); "
                "delete the connection and connect again with the right value",
                details={"connection_id": record.id, "headers": unsendable},
            )
        secrets += auth.secret_values
    if app is not None:
        secrets.append(app.client_secret)
    # OAuth 1.0a signs each request with a fresh nonce: its flow is not reused.
    return Signer(credentials, auth, Redactor(secrets), reusable=scheme is not AuthenticationSchema.OAUTH1)


def _send(engine: Engine, call: Call, request: httpx.Request) -> ActionResult:
    return engine.http.send(call.label, request, call.signer.auth, call.signer.redactor)
