"""The sandbox OAuth 2.0 server's records and its request wrappers for Authlib.

Authlib has no integration for a bare `http.server`: `AuthlibRequest` and `AuthlibPayload` are
what `authlib.integrations.flask_oauth2` builds from a Flask request; `SandboxClient`,
`SandboxCode` and `SandboxToken` implement Authlib's client, code and token mixins over plain
dataclasses held in memory.
"""

from __future__ import annotations

import hmac
import time
from collections import defaultdict
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

import httpx
from authlib.oauth2 import rfc6749

__all__ = [
    "CODE_TTL",
    "FORM",
    "AuthlibPayload",
    "AuthlibRequest",
    "HttpAnswer",
    "Response",
    "SandboxClient",
    "SandboxCode",
    "SandboxToken",
]

CODE_TTL = 600
FORM = "application/x-www-form-urlencoded"
Response = tuple[int, dict[str, str], bytes]


class AuthlibPayload(rfc6749.OAuth2Payload):  # type: ignore[misc]
    """Query and form parameters merged, the query first (like Werkzeug's `request.values`)."""

    def __init__(self, query: list[tuple[str, str]], form: list[tuple[str, str]]) -> None:
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in [*query, *form]:
            self._datalist[key].append(value)
        self._data = {key: values[0] for key, values in self._datalist.items()}

    data = property(lambda self: self._data)
    datalist = property(lambda self: self._datalist)


class AuthlibRequest(rfc6749.OAuth2Request):  # type: ignore[misc]
    """What `create_oauth2_request` gives Authlib: `.payload` merges query and form, `.args`/`.form` do not."""

    def __init__(self, method: str, path: str, query: str, headers: dict[str, str], body: bytes) -> None:
        hdrs = httpx.Headers(headers)
        uri = f"http://{hdrs.get('Host') or '127.0.0.1'}{path}" + (f"?{query}" if query else "")
        super().__init__(method.upper(), uri, headers=hdrs)  # raises InsecureTransportError off loopback
        args = parse_qsl(query, keep_blank_values=True)
        form = (
            parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
            if FORM in hdrs.get("Content-Type", "")
            else []
        )
        self.raw_body, self.payload = body, AuthlibPayload(args, form)
        self._args, self._form = dict(reversed(args)), dict(reversed(form))

    args = property(lambda self: self._args)
    form = property(lambda self: self._form)


@dataclass
class SandboxClient(rfc6749.ClientMixin):  # type: ignore[misc]
    """A registered client, as Authlib's `ClientMixin` asks about it."""

    client_id: str
    client_secret: str = field(repr=False)
    redirect_uris: list[str]
    scopes: list[str]
    auth_method: str
    grant_types: tuple[str, ...]

    def get_default_redirect_uri(self) -> str | None:
        """The only redirect URI, when there is one."""
        return self.redirect_uris[0] if len(self.redirect_uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """The part of `scope` this client may have (all of its scopes when none is asked)."""
        if not scope:
            return str(rfc6749.list_to_scope(self.scopes))
        allowed = [s for s in rfc6749.scope_to_list(scope) if s in self.scopes]
        return str(rfc6749.list_to_scope(allowed)) if allowed else None

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        """Whether `redirect_uri` is registered."""
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        """Whether the secret is right (constant time)."""
        return hmac.compare_digest(self.client_secret.encode(), client_secret.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        """Whether the client authenticates the way it registered."""
        return method == self.auth_method

    def check_response_type(self, response_type: str) -> bool:
        """Only `code`, for clients allowed the code grant."""
        return response_type == "code" and "authorization_code" in self.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        """Whether the client may use this grant."""
        return grant_type in self.grant_types


@dataclass
class SandboxCode(rfc6749.AuthorizationCodeMixin):  # type: ignore[misc]
    """An authorization code not yet exchanged."""

    code: str
    client_id: str
    redirect_uri: str | None
    scope: str
    user: str
    code_challenge: str | None
    code_challenge_method: str | None
    resource: str | None = None
    expires_at: float = field(default_factory=lambda: time.time() + CODE_TTL)

    def get_redirect_uri(self) -> str | None:
        """The redirect URI the code was issued for."""
        return self.redirect_uri

    def get_scope(self) -> str:
        """The granted scope."""
        return self.scope


@dataclass
class SandboxToken(rfc6749.TokenMixin):  # type: ignore[misc]
    """An issued access token and its refresh token."""

    access_token: str
    refresh_token: str | None
    client_id: str
    user: str | None
    scope: str
    expires_in: int
    expires_at: float
    resource: str | None = None
    access_revoked: bool = False
    refresh_revoked: bool = False

    def check_client(self, client: SandboxClient) -> bool:
        """Whether the token was issued to `client`."""
        return client.client_id == self.client_id

    def get_scope(self) -> str:
        """The granted scope."""
        return self.scope


@dataclass
class HttpAnswer:
    """What `handle_response` returns; `location` is what RFC 9207's extension rewrites."""

    status: int
    headers: dict[str, str]
    body: bytes
    location: str | None = None

    def as_tuple(self) -> Response:
        """Status, headers (with `Location`) and body."""
        return self.status, {**self.headers, **({"Location": self.location} if self.location else {})}, self.body
