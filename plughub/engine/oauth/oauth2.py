"""OAuth 2.0 client protocol (RFC 6749, 7636, 7009, 9207): pure request builders and parsers."""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from plughub.engine.catalog.models import OAuth2Spec
from plughub.engine.catalog.templates import render
from plughub.engine.oauth.apps import OAuthApp
from plughub.exceptions import OAuthProviderError

__all__ = [
    "authorization_url",
    "client_credentials_request",
    "code_exchange_request",
    "expected_issuer",
    "new_code_verifier",
    "parse_token_response",
    "refresh_request",
    "revocation_request",
    "scope_string",
]

_FORM = "application/x-www-form-urlencoded"

# Authlib (about 50 modules) is imported by the two builders that use it, when a consent starts:
# refreshing a token or running an action with one needs none of it.


def _url(template: str, config: Mapping[str, Any]) -> str:
    return render(template, {"connection_config": config})


def scope_string(spec: OAuth2Spec, scopes: list[str] | None) -> str:
    """Join scopes with the provider's separator.

    Args:
        spec: The OAuth 2.0 entry.
        scopes: Scopes asked for; None means the definition's defaults.

    Returns:
        The `scope` parameter (empty when there is none).
    """
    return spec.scope_separator.join(spec.default_scopes if scopes is None else scopes)


def new_code_verifier() -> str:
    """A PKCE code verifier: 48 random characters (RFC 7636 allows 43 to 128)."""
    from authlib.common.security import generate_token

    return str(generate_token(48))


def authorization_url(
    spec: OAuth2Spec,
    config: Mapping[str, Any],
    *,
    client_id: str,
    redirect_uri: str,
    scopes: list[str] | None,
    state: str,
    code_verifier: str | None,
) -> str:
    """Build the provider's consent URL.

    Args:
        spec: The OAuth 2.0 entry.
        config: The connection's config values (URLs may be templated on them).
        client_id: The app's client id.
        redirect_uri: The exact callback URL.
        scopes: Scopes to ask for.
        state: The single-use state.
        code_verifier: The PKCE verifier, or None when the definition opts out.

    Returns:
        The URL to send the user to.
    """
    from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
    from authlib.oauth2.rfc7636 import create_s256_code_challenge

    extra: dict[str, str] = dict(spec.authorization_params)
    if code_verifier is not None:
        extra["code_challenge"] = create_s256_code_challenge(code_verifier)
        extra["code_challenge_method"] = "S256"
    scope = scope_string(spec, scopes) or None
    assert spec.authorization_url is not None  # noqa: S101 - checked when the definition loads
    return str(
        prepare_grant_uri(
            _url(spec.authorization_url, config),
            client_id,
            "code",
            redirect_uri=redirect_uri,
            scope=scope,
            state=state,
            **extra,
        )
    )


def _token_request(
    spec: OAuth2Spec, config: Mapping[str, Any], app: OAuthApp, form: dict[str, str], url: str | None = None
) -> httpx.Request:
    headers = {"Accept": "application/json", "Content-Type": _FORM}
    form = {**spec.token_params, **form}
    if spec.token_request_auth_method == "basic":
        # RFC 6749 §2.3.1: both halves are form-urlencoded before the Basic encoding.
        pair = f"{quote(app.client_id, safe='')}:{quote(app.client_secret, safe='')}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
    elif spec.token_request_auth_method == "post":
        form.update(client_id=app.client_id, client_secret=app.client_secret)
    else:  # a public client (RFC 6749 §2.3): it names itself and proves nothing but PKCE
        form.update(client_id=app.client_id)
    return httpx.Request("POST", url or _url(spec.token_url, config), headers=headers, data=form)


def code_exchange_request(
    spec: OAuth2Spec,
    config: Mapping[str, Any],
    app: OAuthApp,
    *,
    code: str,
    redirect_uri: str,
    code_verifier: str | None,
) -> httpx.Request:
    """Build the authorization code exchange (RFC 6749 §4.1.3).

    Args:
        spec: The OAuth 2.0 entry.
        config: The connection's config values.
        app: The client.
        code: The code from the callback.
        redirect_uri: The same redirect URI as in the authorization request.
        code_verifier: The PKCE verifier, if one was used.

    Returns:
        The token request.
    """
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if code_verifier is not None:
        form["code_verifier"] = code_verifier
    return _token_request(spec, config, app, form)


def refresh_request(spec: OAuth2Spec, config: Mapping[str, Any], app: OAuthApp, *, refresh_token: str) -> httpx.Request:
    """Build a refresh token request (RFC 6749 §6).

    Args:
        spec: The OAuth 2.0 entry.
        config: The connection's config values.
        app: The client.
        refresh_token: The refresh token.

    Returns:
        The token request.
    """
    return _token_request(spec, config, app, {"grant_type": "refresh_token", "refresh_token": refresh_token})


def client_credentials_request(
    spec: OAuth2Spec, config: Mapping[str, Any], app: OAuthApp, *, scopes: list[str] | None
) -> httpx.Request:
    """Build a client credentials token request (RFC 6749 §4.4).

    Args:
        spec: The OAuth 2.0 entry.
        config: The connection's config values.
        app: The client (from the connect inputs).
        scopes: Scopes to ask for.

    Returns:
        The token request.
    """
    form = {"grant_type": "client_credentials"}
    scope = scope_string(spec, scopes)
    if scope:
        form["scope"] = scope
    return _token_request(spec, config, app, form)


def revocation_request(
    spec: OAuth2Spec, config: Mapping[str, Any], app: OAuthApp, *, token: str, hint: str
) -> httpx.Request:
    """Build a token revocation request (RFC 7009 §2.1).

    Args:
        spec: The OAuth 2.0 entry (with a `revocation_url`).
        config: The connection's config values.
        app: The client.
        token: The token to revoke.
        hint: `refresh_token` or `access_token`.

    Returns:
        The revocation request.
    """
    assert spec.revocation_url is not None  # noqa: S101 - callers check
    form = {"token": token, "token_type_hint": hint}
    request = _token_request(spec, config, app, form, url=_url(spec.revocation_url, config))
    return request


def parse_token_response(response: httpx.Response, *, now: float | None = None) -> dict[str, Any]:
    """Read a token endpoint's answer.

    Args:
        response: The answer (JSON, or form-encoded as some providers send).
        now: The current time, for `expires_at`.

    Returns:
        `access_token`, `token_type`, `refresh_token` (when sent), `expires_at` (epoch seconds,
        when `expires_in` was sent) and `scope` (when sent).

    Raises:
        OAuthProviderError: The provider answered an error, or no access token.
    """
    data: dict[str, Any]
    try:
        data = response.json()
    except ValueError:
        data = dict(httpx.QueryParams(response.text))
    if not isinstance(data, dict):
        data = {}
    if response.is_error or "error" in data or not data.get("access_token"):
        error = str(data.get("error") or f"http_{response.status_code}")
        description = str(data.get("error_description") or "")
        raise OAuthProviderError(
            f"the token endpoint answered {error}" + (f": {description}" if description else ""),
            details={"error": error, "error_description": description, "status_code": response.status_code},
        )
    token: dict[str, Any] = {
        "access_token": str(data["access_token"]),
        "token_type": str(data.get("token_type") or "Bearer"),
    }
    if data.get("refresh_token"):
        token["refresh_token"] = str(data["refresh_token"])
    if data.get("expires_in") not in (None, ""):
        token["expires_at"] = (now if now is not None else time.time()) + float(data["expires_in"])
    if data.get("scope") is not None:
        scope = data["scope"]
        token["scope"] = " ".join(scope) if isinstance(scope, list) else str(scope)
    return token


def expected_issuer(spec: OAuth2Spec, config: Mapping[str, Any]) -> str:
    """The issuer identifier a callback's `iss` must equal (RFC 9207).

    The definition's `issuer` when set, else the origin of the authorization URL.

    Args:
        spec: The OAuth 2.0 entry.
        config: The connection's config values.

    Returns:
        The issuer.
    """
    if spec.issuer:
        return _url(spec.issuer, config)
    parts = urlsplit(_url(spec.authorization_url or spec.token_url, config))
    return f"{parts.scheme}://{parts.netloc}"
