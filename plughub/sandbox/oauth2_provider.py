"""The sandbox's OAuth 2.0 authorization server (RFC 6749, 7636, 7009, 8414, 7591, 8707, 9207), on Authlib's classes.

Authlib has no integration for a bare `http.server`, so this module supplies what
`authlib.integrations.flask_oauth2` does for Flask: the request and payload wrappers,
`handle_response` and `send_signal`. Everything lives in memory behind one lock.
"""

from __future__ import annotations

import html
import json
import logging
import threading
import time
from typing import Any
from urllib.parse import quote

from authlib.common.security import generate_token
from authlib.oauth2 import rfc6749
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc9207 import IssuerParameter

from plughub.sandbox.oauth2_discovery import METADATA_PATH, REGISTRATION_PATH, Registration, server_metadata
from plughub.sandbox.oauth2_records import (
    AuthlibRequest,
    HttpAnswer,
    Response,
    SandboxClient,
    SandboxCode,
    SandboxToken,
)

# Authlib's grants log every token they issue at DEBUG; the sandbox is a provider inside the
# demo process, so keep its tokens out of the logs like plughub keeps its own.
logging.getLogger("authlib.oauth2.rfc6749.grants").setLevel(logging.INFO)

__all__ = ["OAuth2Provider"]

USER = "alice"


class _Server(rfc6749.AuthorizationServer):  # type: ignore[misc]
    """The framework integration: what `flask_oauth2.AuthorizationServer` does for Flask."""

    def __init__(self, provider: OAuth2Provider) -> None:
        super().__init__()
        self.provider = provider

    def query_client(self, client_id: str) -> SandboxClient | None:
        return self.provider._clients.get(client_id)

    def save_token(self, token: dict[str, Any], request: AuthlibRequest) -> None:
        self.provider._save_token(token, request)

    def create_oauth2_request(self, request: AuthlibRequest) -> AuthlibRequest:
        return request  # handle() already wrapped the raw request

    def create_json_request(self, request: AuthlibRequest) -> Any:
        json_request = rfc6749.JsonRequest(request.method, request.uri, request.headers)
        json_request.payload = BasicOAuth2Payload(json.loads(request.raw_body or b"{}"))
        return json_request

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> HttpAnswer:
        raw = json.dumps(body).encode() if isinstance(body, dict) else str(body or "").encode()
        out = dict(headers)
        return HttpAnswer(status, out, raw, out.pop("Location", None))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """No signal system here; the provider records what tests need itself."""


class _Pkce(CodeChallenge):  # type: ignore[misc]
    """Authlib's RFC 7636 extension; when required, a `code_challenge` (S256) is mandatory."""

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if self.required and not data.get("code_challenge"):
            raise rfc6749.InvalidRequestError("Missing 'code_challenge' (PKCE is required).")
        if self.required and data.get("code_challenge_method") != "S256":
            raise rfc6749.InvalidRequestError("'code_challenge_method' must be 'S256'.")
        super().validate_code_challenge(grant, redirect_uri)


class _Issuer(IssuerParameter):  # type: ignore[misc]
    def __init__(self, provider: OAuth2Provider) -> None:
        self.provider = provider

    def get_issuer(self) -> str | None:
        return self.provider.issuer or None


class _InvalidTarget(rfc6749.OAuth2Error):  # type: ignore[misc]
    """RFC 8707 §2: the `resource` is not the one the grant was given for."""

    error = "invalid_target"


def _check_target(request: AuthlibRequest, granted: str | None) -> None:
    asked = request.payload.data.get("resource")
    if asked is not None and granted is not None and asked != granted:
        raise _InvalidTarget(description="'resource' is not the resource this grant is for.")


class _CodeGrant(rfc6749.AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def save_authorization_code(self, code: str, request: AuthlibRequest) -> None:
        data = request.payload.data
        item = SandboxCode(
            code, request.client.client_id, request.payload.redirect_uri, request.scope, request.user,
            data.get("code_challenge"), data.get("code_challenge_method"), data.get("resource"),
        )  # fmt: skip
        self.server.provider._codes[code] = item
        self.server.provider.resources.append(data.get("resource"))

    def query_authorization_code(self, code: str, client: SandboxClient) -> SandboxCode | None:
        item: SandboxCode | None = self.server.provider._codes.get(code)
        if item and item.client_id == client.client_id and item.expires_at > time.time():
            _check_target(self.request, item.resource)
            return item
        return None

    def delete_authorization_code(self, authorization_code: SandboxCode) -> None:
        self.server.provider._codes.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code: SandboxCode) -> str:
        return authorization_code.user


class _RefreshGrant(rfc6749.RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def __init__(self, request: AuthlibRequest, server: _Server) -> None:
        super().__init__(request, server)
        self.INCLUDE_NEW_REFRESH_TOKEN = server.provider.rotate_refresh_tokens

    def authenticate_refresh_token(self, refresh_token: str) -> SandboxToken | None:
        token: SandboxToken | None = self.server.provider._refresh.get(refresh_token)
        if token and not token.refresh_revoked:
            _check_target(self.request, token.resource)
            return token
        return None

    def authenticate_user(self, refresh_token: SandboxToken) -> str | None:
        return refresh_token.user

    def revoke_old_credential(self, refresh_token: SandboxToken) -> None:
        if self.INCLUDE_NEW_REFRESH_TOKEN:
            refresh_token.refresh_revoked = True


class _ClientCredentialsGrant(rfc6749.ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


class _Revocation(RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def query_token(self, token_string: str, token_type_hint: str | None) -> SandboxToken | None:
        provider: OAuth2Provider = self.server.provider
        if token_type_hint == "refresh_token":
            return provider._refresh.get(token_string) or provider._access.get(token_string)
        return provider._access.get(token_string) or provider._refresh.get(token_string)

    def revoke_token(self, token: SandboxToken, request: AuthlibRequest) -> None:
        value = request.form["token"]
        token.access_revoked = True
        if value == token.refresh_token:  # RFC 7009 §2.1: revoking the grant's refresh token ends it
            token.refresh_revoked = True
        self.server.provider.revoked.append(value)


def _page(title: str, content: str) -> bytes:
    head = f"<!doctype html><html><head><title>{html.escape(title)}</title></head>"
    return f"{head}<body>{content}</body></html>".encode()


class OAuth2Provider:
    """OAuth 2.0 authorization server (RFC 6749) built on authlib.oauth2 server classes.

    Args:
        access_token_ttl: Lifetime of access tokens in seconds (the `expires_in` it returns).
        rotate_refresh_tokens: Issue a new refresh token on refresh and invalidate the old one.
        require_pkce: Demand PKCE (S256) in authorization requests.
        send_iss: Add `iss` to authorization responses (RFC 9207).

    Attributes:
        issuer: The `iss` value, e.g. "http://127.0.0.1:PORT"; the first request's Host sets it when empty.
        token_requests: Token endpoint requests per `grant_type`, successful or not.
        revoked: Tokens revoked through `/oauth2/revoke`.
        registration: Whether `/oauth2/register` registers clients (RFC 7591) and the metadata says so.
        registered: The ids of the clients registered there.
        resources: The `resource` of each authorization request (RFC 8707), None where it had none.
        metadata_changes: Members that replace (or, when None, remove) those of the metadata at
            `/.well-known/oauth-authorization-server` (tests of clients that must refuse it).
    """

    def __init__(
        self,
        *,
        access_token_ttl: int = 3600,
        rotate_refresh_tokens: bool = True,
        require_pkce: bool = True,
        send_iss: bool = True,
    ) -> None:
        self.access_token_ttl = access_token_ttl
        self.rotate_refresh_tokens = rotate_refresh_tokens
        self.issuer = ""
        self.sends_iss = send_iss
        self.token_requests: dict[str, int] = {}
        self.revoked: list[str] = []
        self.registration = True
        self.registered: list[str] = []
        self.resources: list[str | None] = []
        self.metadata_changes: dict[str, Any] = {}
        self._lock = threading.RLock()
        self._clients: dict[str, SandboxClient] = {}
        self._codes: dict[str, SandboxCode] = {}
        self._access: dict[str, SandboxToken] = {}
        self._refresh: dict[str, SandboxToken] = {}
        self._issued: list[str] = []
        self._server = _Server(self)
        self._server.register_token_generator(
            "default",
            BearerTokenGenerator(
                lambda **_: generate_token(42), lambda **_: generate_token(48), lambda *_: self.access_token_ttl
            ),
        )
        self._server.register_grant(_CodeGrant, [_Pkce(required=require_pkce)])
        self._server.register_grant(_RefreshGrant)
        self._server.register_grant(_ClientCredentialsGrant)
        self._server.register_endpoint(_Revocation)
        self._server.register_endpoint(Registration(None, self))
        self._issuer_extension = _Issuer(self) if send_iss else None
        if self._issuer_extension:
            self._server.register_extension(self._issuer_extension)

    def register_client(
        self,
        client_id: str,
        client_secret: str,
        redirect_uris: list[str],
        scopes: list[str],
        token_endpoint_auth_method: str = "client_secret_basic",
        grant_types: tuple[str, ...] = ("authorization_code", "refresh_token", "client_credentials"),
    ) -> None:
        """Register (or replace) a client.

        Args:
            client_id: Its identifier.
            client_secret: Its secret.
            redirect_uris: The redirect URIs it may use, compared exactly.
            scopes: The scopes it may obtain; a request without `scope` gets them all.
            token_endpoint_auth_method: "client_secret_basic", "client_secret_post" or "none".
            grant_types: The grant types it may use.
        """
        client = SandboxClient(client_id, client_secret, list(redirect_uris), list(scopes), token_endpoint_auth_method,
                         tuple(grant_types))  # fmt: skip
        with self._lock:
            self._clients[client_id] = client

    def handle(self, method: str, path: str, query: str, headers: dict[str, str], body: bytes) -> Response | None:
        """Serve the provider's endpoints, or None for a path that is not one of them.

        /oauth2/authorize (GET: consent page; POST: decision), /oauth2/token, /oauth2/revoke,
        /oauth2/register, and the metadata at /.well-known/oauth-authorization-server.

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
        if path not in ("/oauth2/authorize", "/oauth2/token", "/oauth2/revoke", REGISTRATION_PATH, METADATA_PATH):
            return None
        with self._lock:
            try:
                request = AuthlibRequest(method, path, query, headers, body)
                self.issuer = self.issuer or request.uri.split(path, 1)[0]
                if path == METADATA_PATH:
                    document = json.dumps(server_metadata(self)).encode()
                    return 200, {"Content-Type": "application/json", "Cache-Control": "no-store"}, document
                if path == REGISTRATION_PATH:
                    if not self.registration or request.method != "POST":
                        return 404, {"Content-Type": "text/plain"}, b"not found"
                    response = self._server.create_endpoint_response("client_registration", request)
                    return response.as_tuple()  # type: ignore[no-any-return]
                if path == "/oauth2/token":
                    grant_type = request.payload.data.get("grant_type", "")
                    self.token_requests[grant_type] = self.token_requests.get(grant_type, 0) + 1
                    return self._server.create_token_response(request).as_tuple()  # type: ignore[no-any-return]
                if path == "/oauth2/revoke":
                    response = self._server.create_endpoint_response("revocation", request)
                    return response.as_tuple()  # type: ignore[no-any-return]
                if request.method not in ("GET", "POST"):
                    return 405, {"Allow": "GET, POST", "Content-Type": "text/plain"}, b"method not allowed"
                return self._authorize(request, query)
            except rfc6749.OAuth2Error as error:  # e.g. insecure transport, raised before Authlib's own handling
                return self._server.handle_error_response(None, error).as_tuple()  # type: ignore[no-any-return]

    def _authorize(self, request: AuthlibRequest, query: str) -> Response:
        try:
            grant = self._server.get_consent_grant(request, end_user=USER)
        except rfc6749.OAuth2Error as error:
            if not error.redirect_uri:  # bad client or redirect_uri: never redirect (RFC 6749 §4.1.2.1)
                text = f"<h1>Authorization error</h1><p>{html.escape(f'{error.error}: {error.description}')}</p>"
                return 400, {"Content-Type": "text/html; charset=utf-8"}, _page("Authorization error", text)
            response: HttpAnswer = self._server.handle_error_response(request, error)
            if self._issuer_extension:
                self._issuer_extension.add_issuer_parameter(self._server, response)
            return response.as_tuple()
        if request.method == "POST":
            user = USER if request.form.get("decision") == "approve" else None
            result = self._server.create_authorization_response(request, grant_user=user, grant=grant)
            return result.as_tuple()  # type: ignore[no-any-return]
        client = grant.client
        action = "/oauth2/authorize?" + quote(query, safe="&=%+-._~!$'()*,;:@/?")
        content = (
            f"<h1>Authorize {html.escape(client.client_id)}</h1>"
            f"<p>Signed in as <b>{USER}</b>. Grant access to: {html.escape(request.scope or '(none)')}?</p>"
            f'<form method="post" action="{action}">'
            '<button name="decision" value="approve">Approve</button> '
            '<button name="decision" value="deny">Deny</button></form>'
        )
        return 200, {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}, _page("Consent", content)

    def _save_token(self, token: dict[str, Any], request: AuthlibRequest) -> None:
        expires_in = int(token.get("expires_in", self.access_token_ttl))
        # RFC 8707: the token is for the resource its grant was for (or the one asked for).
        grant = request.authorization_code or request.refresh_token
        resource = grant.resource if grant is not None else request.payload.data.get("resource")
        item = SandboxToken(token["access_token"], token.get("refresh_token"), request.client.client_id, request.user,
                      token.get("scope", ""), expires_in, time.time() + expires_in, resource)  # fmt: skip
        self._access[item.access_token] = item
        self._issued.append(item.access_token)
        if item.refresh_token:
            self._refresh[item.refresh_token] = item
            self._issued.append(item.refresh_token)

    def issued_tokens(self) -> list[str]:
        """Every access and refresh token issued so far (tests and the demo scan for leaks).

        Returns:
            The token strings.
        """
        with self._lock:
            return list(self._issued)

    def validate_bearer(self, token: str) -> dict[str, Any] | None:
        """Look up a bearer access token.

        Args:
            token: The access token.

        Returns:
            {"client_id", "user", "scope", "resource", "expires_at"} for a live access token (issued,
            not expired, not revoked), else None.
        """
        with self._lock:
            item = self._access.get(token)
            if item is None or item.access_revoked or item.expires_at <= time.time():
                return None
            return {
                "client_id": item.client_id,
                "user": item.user,
                "scope": item.scope,
                "resource": item.resource,
                "expires_at": item.expires_at,
            }

    def expire_access_tokens(self) -> None:
        """Make every issued access token expired now (tests of refresh)."""
        with self._lock:
            for item in self._access.values():
                item.expires_at = min(item.expires_at, time.time() - 1)

    def revoke_all_access_tokens(self) -> None:
        """Make every access token invalid, so a 401 follows (tests of reactive refresh)."""
        with self._lock:
            for item in self._access.values():
                item.access_revoked = True

    def revoke_all_grants(self) -> None:
        """Revoke every access and refresh token, as a user who takes back access does."""
        with self._lock:
            for item in [*self._access.values(), *self._refresh.values()]:
                item.access_revoked = item.refresh_revoked = True
