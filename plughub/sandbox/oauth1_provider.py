"""An OAuth 1.0a provider (RFC 5849) for the sandbox, on Authlib's server classes.

Authlib has no integration for a bare `http.server`, so this module supplies what
`authlib.integrations.flask_oauth1` does for Flask: `create_oauth1_request`, `handle_response`
and the credential and nonce hooks, kept in memory behind one lock.
"""

from __future__ import annotations

import html
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri, url_encode
from authlib.oauth1 import (
    SIGNATURE_HMAC_SHA1,
    SIGNATURE_PLAINTEXT,
    SIGNATURE_RSA_SHA1,
    AuthorizationServer,
    ClientMixin,
    OAuth1Request,
    ResourceProtector,
    TemporaryCredential,
    TokenCredentialMixin,
)
from authlib.oauth1.errors import InvalidRequestError, InvalidTokenError, OAuth1Error
from authlib.oauth1.rfc5849.signature import verify_hmac_sha1, verify_plaintext, verify_rsa_sha1

__all__ = ["OAuth1Provider"]

USER = "alice"
FORM = "application/x-www-form-urlencoded"
HTML = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}
Response = tuple[int, dict[str, str], bytes]


def _verify_rsa_sha1(request: OAuth1Request) -> bool:
    """Authlib's RSA-SHA1 check, failing (not raising) without a usable public key or signature."""
    if not request.rsa_public_key:
        return False
    try:
        return bool(verify_rsa_sha1(request))
    except (ValueError, TypeError):
        return False


@dataclass
class _Client(ClientMixin):  # type: ignore[misc]
    client_id: str
    client_secret: str = field(repr=False)
    default_redirect_uri: str
    rsa_public_key: str | None

    def get_default_redirect_uri(self) -> str:
        return self.default_redirect_uri

    def get_client_secret(self) -> str:
        return self.client_secret

    def get_rsa_public_key(self) -> str | None:
        return self.rsa_public_key


@dataclass
class _TokenCredential(TokenCredentialMixin):  # type: ignore[misc]
    oauth_token: str
    oauth_token_secret: str = field(repr=False)
    client_id: str
    user: str

    def get_oauth_token(self) -> str:
        return self.oauth_token

    def get_oauth_token_secret(self) -> str:
        return self.oauth_token_secret


class _Hooks:
    """What both servers look up in the provider: clients and seen nonces."""

    SIGNATURE_METHODS = {
        SIGNATURE_HMAC_SHA1: verify_hmac_sha1,
        SIGNATURE_RSA_SHA1: _verify_rsa_sha1,
        SIGNATURE_PLAINTEXT: verify_plaintext,
    }

    def __init__(self, provider: OAuth1Provider, methods: tuple[str, ...]) -> None:
        self.provider = provider
        self.SUPPORTED_SIGNATURE_METHODS = list(methods)

    def get_client_by_id(self, client_id: str) -> _Client | None:
        return self.provider._clients.get(client_id)

    def exists_nonce(self, nonce: str, request: OAuth1Request) -> bool:
        key = (nonce, request.timestamp, request.client_id, request.token)
        seen = key in self.provider._nonces
        self.provider._nonces.add(key)
        return seen


class _Server(_Hooks, AuthorizationServer):  # type: ignore[misc]
    """The framework integration: what `flask_oauth1.AuthorizationServer` does for Flask."""

    def create_oauth1_request(self, request: OAuth1Request) -> OAuth1Request:
        return request  # the provider builds it, so construction errors become OAuth 1 errors there

    def handle_response(self, status: int, payload: Any, headers: list[tuple[str, str]]) -> Response:
        if isinstance(payload, (list, dict)):
            items = payload.items() if isinstance(payload, dict) else payload
            payload = url_encode([(k, "true" if v is True else v) for k, v in items])
        return status, dict(headers), str(payload).encode()

    def create_temporary_credential(self, request: OAuth1Request) -> TemporaryCredential:
        credential = TemporaryCredential(
            oauth_token=generate_token(42),
            oauth_token_secret=generate_token(48),
            client_id=request.client_id,
            oauth_callback=request.redirect_uri,
        )
        self.provider._temporary[credential["oauth_token"]] = credential
        return credential

    def get_temporary_credential(self, request: OAuth1Request) -> TemporaryCredential | None:
        return self.provider._temporary.get(request.token)

    def delete_temporary_credential(self, request: OAuth1Request) -> None:
        self.provider._temporary.pop(request.token, None)

    def create_authorization_verifier(self, request: OAuth1Request) -> str:
        verifier: str = generate_token(36)
        request.credential.update(oauth_verifier=verifier, user_id=request.user)
        return verifier

    def create_token_credential(self, request: OAuth1Request) -> _TokenCredential:
        temporary = request.credential
        credential = _TokenCredential(
            generate_token(42), generate_token(48), temporary.get_client_id(), temporary.get_user_id()
        )
        self.provider._tokens[credential.oauth_token] = credential
        return credential

    def validate_token_request(self, request: OAuth1Request) -> OAuth1Request:
        super().validate_token_request(request)
        if request.credential.get_client_id() != request.client_id:  # temporary credentials are per client
            raise InvalidTokenError()
        return request


class _Protector(_Hooks, ResourceProtector):  # type: ignore[misc]
    def get_token_credential(self, request: OAuth1Request) -> _TokenCredential | None:
        credential = self.provider._tokens.get(request.token)
        return credential if credential and credential.client_id == request.client_id else None


def _oauth1_request(method: str, uri: str, headers: dict[str, str], body: bytes) -> OAuth1Request:
    """Wrap a raw request; a form body takes part in the signature (RFC 5849 §3.4.1.3.1)."""
    hdrs = httpx.Headers(headers)
    form = body.decode("utf-8", "replace") if FORM in hdrs.get("Content-Type", "") else None
    try:
        return OAuth1Request(method.upper(), uri, form, hdrs)
    except ValueError as exc:  # a malformed Authorization header
        raise InvalidRequestError(str(exc)) from exc


def _page(title: str, content: str, status: int = 200) -> Response:
    head = f"<!doctype html><html><head><title>{html.escape(title)}</title></head>"
    return status, dict(HTML), f"{head}<body>{content}</body></html>".encode()


class OAuth1Provider:
    """OAuth 1.0a provider (RFC 5849) built on authlib.oauth1 server classes (AuthorizationServer, ResourceProtector).

    Args:
        signature_methods: The signature methods it accepts.

    Attributes:
        token_requests: Requests to the access token endpoint (`/oauth1/access_token`), successful or not.
    """

    def __init__(self, *, signature_methods: tuple[str, ...] = ("HMAC-SHA1", "RSA-SHA1", "PLAINTEXT")) -> None:
        self.token_requests = 0
        self._lock = threading.RLock()
        self._clients: dict[str, _Client] = {}
        self._temporary: dict[str, TemporaryCredential] = {}
        self._tokens: dict[str, _TokenCredential] = {}
        self._nonces: set[tuple[Any, ...]] = set()
        self._server = _Server(self, signature_methods)
        self._protector = _Protector(self, signature_methods)

    def register_client(
        self, client_id: str, client_secret: str, default_redirect_uri: str, rsa_public_key: str | None = None
    ) -> None:
        """Register (or replace) a client.

        Args:
            client_id: Its identifier (`oauth_consumer_key`).
            client_secret: Its secret, for HMAC-SHA1 and PLAINTEXT.
            default_redirect_uri: Where to send the user when the callback is "oob".
            rsa_public_key: Its PEM public key, for RSA-SHA1.
        """
        with self._lock:
            self._clients[client_id] = _Client(client_id, client_secret, default_redirect_uri, rsa_public_key)

    def handle(self, method: str, path: str, query: str, headers: dict[str, str], body: bytes) -> Response | None:
        """Serve POST /oauth1/request_token, GET+POST /oauth1/authorize and POST /oauth1/access_token.

        Args:
            method: The HTTP method.
            path: The request path, without the query.
            query: The raw query string.
            headers: The request headers.
            body: The request body.

        Returns:
            (status, headers, body), or None for a path it does not serve.
        """
        path = path.rstrip("/")
        if path not in ("/oauth1/request_token", "/oauth1/authorize", "/oauth1/access_token"):
            return None
        host = httpx.Headers(headers).get("Host") or "127.0.0.1"
        uri = f"http://{host}{path}" + (f"?{query}" if query else "")
        with self._lock:
            if path == "/oauth1/access_token":
                self.token_requests += 1
            try:
                request = _oauth1_request(method, uri, headers, body)
                if path == "/oauth1/request_token":
                    return self._server.create_temporary_credentials_response(request)  # type: ignore[no-any-return]
                if path == "/oauth1/access_token":
                    return self._server.create_token_response(request)  # type: ignore[no-any-return]
            except OAuth1Error as error:
                return self._server.handle_error_response(error)  # type: ignore[no-any-return]
            return self._authorize(method.upper(), uri, query, headers, body)

    def _authorize(self, method: str, uri: str, query: str, headers: dict[str, str], body: bytes) -> Response:
        if method not in ("GET", "POST"):
            return 405, {"Allow": "GET, POST", "Content-Type": "text/plain"}, b"method not allowed"
        try:
            request = self._server.validate_authorization_request(_oauth1_request(method, uri, headers, body))
        except OAuth1Error as error:
            text = f"<h1>Authorization error</h1><p>{html.escape(f'{error.error}: {error.description}')}</p>"
            return _page("Authorization error", text, 400)
        if method == "POST":
            approved = dict(request.body_params).get("decision") == "approve"
            status, out, payload = self._server.create_authorization_response(request, USER if approved else None)
            if not approved:  # also the Twitter convention, and the temporary credential is spent
                out["Location"] = add_params_to_uri(out["Location"], [("denied", request.token)])
                self._server.delete_temporary_credential(request)
            return status, out, payload
        client_id = html.escape(request.credential.get_client_id())
        action = "/oauth1/authorize?" + quote(query, safe="&=%+-._~!$'()*,;:@/?")
        content = (
            f"<h1>Authorize {client_id}</h1><p>Signed in as <b>{USER}</b>. Grant {client_id} access?</p>"
            f'<form method="post" action="{action}">'
            '<button name="decision" value="approve">Approve</button> '
            '<button name="decision" value="deny">Deny</button></form>'
        )
        return _page("Consent", content)

    def validate_request(self, method: str, uri: str, headers: dict[str, str], body: bytes) -> dict[str, Any] | None:
        """Verify an OAuth 1.0a signed resource request.

        The signature covers the Authorization: OAuth header (or query/body oauth_* parameters),
        the query and a form-encoded body, as RFC 5849 §3.4.1 says.

        Args:
            method: The HTTP method.
            uri: The absolute request URI, query included.
            headers: The request headers.
            body: The request body.

        Returns:
            {"client_id", "user"} when valid, else None.
        """
        hdrs = httpx.Headers(headers)
        form = body.decode("utf-8", "replace") if FORM in hdrs.get("Content-Type", "") else None
        with self._lock:
            try:
                request = self._protector.validate_request(method.upper(), uri, form, hdrs)
            except (OAuth1Error, ValueError, TypeError):
                return None
            return {"client_id": request.client_id, "user": request.credential.user}
