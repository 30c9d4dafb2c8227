"""Run one action for a connection: credentials, OAuth refresh, signing, sending."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from plughub.engine.auth import StaticAuth, auth_for
from plughub.engine.catalog.models import ActionSpec, IntegrationSpec, OAuth2Spec
from plughub.engine.oauth.flows import expiring
from plughub.engine.redact import Redactor
from plughub.engine.request import build_request
from plughub.engine.signers import Signer
from plughub.engine.store import ConnectionRecord
from plughub.enums import AuthenticationSchema, ResponseStatus
from plughub.exceptions import OAuthError
from plughub.schemas import ActionResult

if TYPE_CHECKING:
    from plughub.engine.engine import Engine

__all__ = ["run_action"]


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
    label = f"{spec.display_name} {code}"
    scheme = AuthenticationSchema(record.scheme)
    blob = engine.store.get_credentials(record.id)
    signer = engine.signers.get(record, spec, blob)
    if signer is None:
        opened = engine._open(record.id, blob) if blob else {}
        signer = engine.signers.put(record, spec, blob, _signer(engine, spec, scheme, record, opened))
    credentials: Mapping[str, Any] = signer.credentials
    oauth2 = spec.auth_for(scheme)
    if not isinstance(oauth2, OAuth2Spec):
        return _send(engine, label, spec, record, action, inputs, signer)
    try:
        if expiring(credentials, oauth2.refresh_margin):
            credentials = engine.oauth.refresh(record, spec, oauth2, credentials, force=False)
            signer = _signer(engine, spec, scheme, record, credentials)
        result = _send(engine, label, spec, record, action, inputs, signer)
        if result.status_code != 401:
            return result
        credentials = engine.oauth.refresh(record, spec, oauth2, credentials, force=True)
        signer = _signer(engine, spec, scheme, record, credentials)
    except OAuthError as exc:
        return ActionResult(
            status=ResponseStatus.FAILED,
            error_code=exc.code,
            error_message=f"{label}: {exc.message}",
            details=dict(exc.details),
        )
    return _send(engine, label, spec, record, action, inputs, signer)


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
        secrets += auth.secret_values
    if app is not None:
        secrets.append(app.client_secret)
    # OAuth 1.0a signs each request with a fresh nonce: its flow is not reused.
    return Signer(credentials, auth, Redactor(secrets), reusable=scheme is not AuthenticationSchema.OAUTH1)


def _send(
    engine: Engine,
    label: str,
    spec: IntegrationSpec,
    record: ConnectionRecord,
    action: ActionSpec,
    inputs: Mapping[str, Any],
    signer: Signer,
) -> ActionResult:
    request = build_request(spec, action, inputs, record.config, base_url=record.base_url)
    return engine.executor.send(label, request, signer.auth, signer.redactor)
