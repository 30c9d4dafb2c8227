"""One action call: its request rendered, its signer, and the refresh rules both drivers follow.

`steps` is the one place that says when an OAuth 2.0 token is refreshed: before the call when it
expires within the definition's margin, and once after a 401 (then the request is sent again). It
yields what to do next (`Send`, `Refresh`) and does no I/O itself, so the synchronous driver (a
thread) and the asynchronous one (`plughub serve`'s event loop) run the same rules.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from plughub.engine.actions.responses import apply_response_rules
from plughub.engine.actions.signers import Signer
from plughub.engine.auth import StaticAuth, auth_for
from plughub.engine.catalog.models import ActionSpec, IntegrationSpec, OAuth2Spec, ResponseSpec
from plughub.engine.http.render import build_request
from plughub.engine.http.send import Answer
from plughub.engine.oauth.apps import OAuthApp
from plughub.engine.oauth.flows import expiring
from plughub.engine.redact import Redactor
from plughub.engine.store import ConnectionRecord
from plughub.enums import AuthenticationSchema
from plughub.exceptions import InvalidCredentials, OAuthError
from plughub.schemas import ActionResult

__all__ = ["Call", "Refresh", "Send", "Step", "build_signer", "oauth2_of", "prepare", "steps"]


@dataclass(frozen=True)
class Call:
    """A request ready to send (an action's, or a proxied one): the connection, its signer, the request.

    Attributes:
        label: Who is called, for messages ("GitHub GITHUB_GET_REPOSITORY").
        record: The connection (active).
        spec: Its integration.
        signer: Adds the credentials and hides them in what comes back.
        oauth2: The OAuth 2.0 scheme whose tokens may need a refresh, if the connection has one.
        first_request: The request of the first send, rendered before anything else so that an
            input that cannot be sent is refused before credentials are opened or refreshed.
        rebuild: Renders the request again, for a send after a refresh (no credentials: the
            signer's auth flow adds them).
        rules: The response rules that may make a 2xx answer a failure (None for the proxy).
        action: The action code (`PROXY` for a proxied request), for metrics and traces.
    """

    label: str
    record: ConnectionRecord
    spec: IntegrationSpec
    signer: Signer
    oauth2: OAuth2Spec | None
    first_request: httpx.Request
    rebuild: Callable[[], httpx.Request]
    rules: ResponseSpec | None = None
    action: str = ""

    @property
    def refresh_due(self) -> bool:
        """Whether the access token expires within the definition's margin."""
        return self.oauth2 is not None and expiring(self.signer.credentials, self.oauth2.refresh_margin)

    def request(self) -> httpx.Request:
        """Render the request again, for another send (no credentials: the signer's auth flow adds them)."""
        return self.rebuild()


def oauth2_of(spec: IntegrationSpec, record: ConnectionRecord) -> OAuth2Spec | None:
    """The OAuth 2.0 scheme of a connection whose tokens may need a refresh, if it has one.

    Args:
        spec: The integration.
        record: The connection.

    Returns:
        The scheme, or None.
    """
    found = spec.auth_for_mode(record.scheme)  # the stored scheme is its mode's name
    return found if isinstance(found, OAuth2Spec) else None


def prepare(
    record: ConnectionRecord,
    spec: IntegrationSpec,
    code: str,
    action: ActionSpec,
    inputs: Mapping[str, Any],
    signer: Callable[[], Signer],
    *,
    app: Mapping[str, Any] | None = None,
    url: str | None = None,
) -> Call:
    """Render the request, then get the signer (which may open the credentials); nothing is sent.

    Args:
        record: The connection (active).
        spec: Its integration.
        code: The action code.
        action: The action.
        inputs: Validated inputs.
        signer: Gives the connection's signer (cached, or built from its opened credentials).
        app: The non-secret fields of the integration's OAuth app, when its templates use them.
        url: Send to this URL instead of the action's path and query (a next page's link).

    Returns:
        The call.

    Raises:
        InvalidInput: The inputs cannot be sent as they are (see `build_request`).
    """

    def rebuild() -> httpx.Request:
        return build_request(spec, action, inputs, record.config, base_url=record.base_url, app=app, url=url)

    first_request = rebuild()
    return Call(
        f"{spec.display_name} {code}",
        record,
        spec,
        signer(),
        oauth2_of(spec, record),
        first_request,
        rebuild,
        spec.response_for(action),
        code,
    )


def build_signer(
    spec: IntegrationSpec,
    record: ConnectionRecord,
    credentials: Mapping[str, Any],
    app: OAuthApp | None,
) -> Signer:
    """Build what signs a connection's requests from its opened credentials.

    Args:
        spec: Its integration.
        record: The connection.
        credentials: Its opened credentials.
        app: The OAuth 1.0a app that signs with them (None for the other schemes).

    Returns:
        The signer.

    Raises:
        InvalidCredentials: Stored values cannot go in the header the scheme puts them in.
    """
    scheme = AuthenticationSchema(record.scheme)
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


@dataclass(frozen=True)
class Send:
    """Send this request, signed by this signer; the driver answers with the `Answer`."""

    request: httpx.Request
    signer: Signer


@dataclass(frozen=True)
class Refresh:
    """Refresh the OAuth 2.0 token `signer` holds; the driver answers with the new `Signer`.

    A refused refresh is thrown into the generator as the `OAuthError` it raised.

    Attributes:
        signer: The signer whose token is to be refreshed (the token the caller saw).
        force: Refresh even if the token is not expiring (the service answered 401 to it).
    """

    signer: Signer
    force: bool


Step = Generator["Send | Refresh", "Answer | Signer", Answer]


def steps(call: Call) -> Step:
    """The steps of a call: refresh when due, send, and after a 401 refresh once and send again.

    The call's response rules then judge a 2xx answer (`apply_response_rules`).

    Args:
        call: The call.

    Returns:
        The generator; it returns the answer (a refused refresh is a FAILED result with the OAuth
        error's code, `connection_expired` when the provider refused the refresh token).
    """
    signer = call.signer
    if call.refresh_due:
        try:
            signer = _signer((yield Refresh(signer, force=False)))
        except OAuthError as exc:
            return _refused(call, exc)
    answer = _answer((yield Send(call.first_request, signer)))
    if call.oauth2 is not None and answer.result.status_code == 401:
        try:
            signer = _signer((yield Refresh(signer, force=True)))
        except OAuthError as exc:
            return _refused(call, exc)
        answer = _answer((yield Send(call.request(), signer)))
    if call.rules is not None:
        answer = Answer(apply_response_rules(call.label, call.rules, answer.result), answer.received)
    return answer


def _signer(answer: Answer | Signer) -> Signer:
    if not isinstance(answer, Signer):
        raise TypeError("a Refresh step is answered with the new Signer")
    return answer


def _answer(answer: Answer | Signer) -> Answer:
    if not isinstance(answer, Answer):
        raise TypeError("a Send step is answered with its Answer")
    return answer


def _refused(call: Call, exc: OAuthError) -> Answer:
    return Answer(ActionResult.failure(type(exc)(f"{call.label}: {exc.message}", details=dict(exc.details))))
