"""OAuth 1.0a client protocol (RFC 5849) on Authlib's signing code: pure request builders."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import httpx

from plughub.engine.catalog.models import OAuth1Spec
from plughub.engine.catalog.templates import render
from plughub.engine.oauth.apps import OAuthApp
from plughub.exceptions import OAuthProviderError

if TYPE_CHECKING:
    from authlib.oauth1.rfc5849.client_auth import ClientAuth

# Authlib (about 50 modules) is imported where a signature or URL is made: a process that never
# meets an OAuth 1.0a provider does not pay for it.

__all__ = ["access_token_request", "authorize_url", "client_auth", "parse_credentials", "request_token_request"]

_FORM = "application/x-www-form-urlencoded"


def client_auth(
    spec: OAuth1Spec,
    app: OAuthApp,
    *,
    token: str | None = None,
    token_secret: str | None = None,
    callback: str | None = None,
    verifier: str | None = None,
) -> ClientAuth:
    """Authlib's signer for this provider and client.

    For RSA-SHA1 the app's client secret is the PEM private key.

    Args:
        spec: The OAuth 1.0a entry.
        app: The client (consumer key and secret).
        token: The request or access token.
        token_secret: Its secret.
        callback: `oauth_callback`, for the request token step.
        verifier: `oauth_verifier`, for the access token step.

    Returns:
        The signer.
    """
    from authlib.oauth1.rfc5849.client_auth import ClientAuth

    rsa = spec.signature_method == "RSA-SHA1"
    return ClientAuth(
        app.client_id,
        client_secret=None if rsa else app.client_secret,
        token=token,
        token_secret=token_secret,
        redirect_uri=callback,
        rsa_key=app.client_secret if rsa else None,
        verifier=verifier,
        signature_method=spec.signature_method,
    )


def _signed_post(signer: ClientAuth, url: str) -> httpx.Request:
    uri, headers, body = signer.sign("POST", url, {"Content-Type": _FORM}, "")
    return httpx.Request("POST", uri, headers=headers, content=body or b"")


def request_token_request(
    spec: OAuth1Spec, config: Mapping[str, Any], app: OAuthApp, *, callback: str
) -> httpx.Request:
    """Build the temporary credentials request (RFC 5849 §2.1).

    Args:
        spec: The OAuth 1.0a entry.
        config: The connection's config values.
        app: The client.
        callback: `oauth_callback`, the URL the provider sends the user back to.

    Returns:
        The signed request.
    """
    url = render(spec.request_token_url, {"connection_config": config})
    return _signed_post(client_auth(spec, app, callback=callback), url)


def authorize_url(spec: OAuth1Spec, config: Mapping[str, Any], *, oauth_token: str) -> str:
    """Build the resource owner authorization URL (RFC 5849 §2.2).

    Args:
        spec: The OAuth 1.0a entry.
        config: The connection's config values.
        oauth_token: The temporary credentials' token.

    Returns:
        The URL to send the user to.
    """
    from authlib.common.urls import add_params_to_uri

    url = render(spec.authorization_url, {"connection_config": config})
    return str(add_params_to_uri(url, [("oauth_token", oauth_token), *spec.authorization_params.items()]))


def access_token_request(
    spec: OAuth1Spec, config: Mapping[str, Any], app: OAuthApp, *, token: str, token_secret: str, verifier: str
) -> httpx.Request:
    """Build the token credentials request (RFC 5849 §2.3).

    Args:
        spec: The OAuth 1.0a entry.
        config: The connection's config values.
        app: The client.
        token: The temporary token.
        token_secret: The temporary token's secret.
        verifier: `oauth_verifier` from the callback.

    Returns:
        The signed request.
    """
    url = render(spec.access_token_url, {"connection_config": config})
    return _signed_post(client_auth(spec, app, token=token, token_secret=token_secret, verifier=verifier), url)


def parse_credentials(response: httpx.Response, step: str) -> dict[str, str]:
    """Read a form-encoded credentials answer.

    Args:
        response: The provider's answer.
        step: `request token` or `access token`, for messages.

    Returns:
        Its parameters; `oauth_token` and `oauth_token_secret` are present.

    Raises:
        OAuthProviderError: The provider refused, or the answer lacks the credentials.
    """
    params = dict(httpx.QueryParams(response.text)) if response.text else {}
    if response.is_error or not params.get("oauth_token") or "oauth_token_secret" not in params:
        problem = params.get("error") or params.get("oauth_problem") or f"http_{response.status_code}"
        description = params.get("error_description") or ""
        raise OAuthProviderError(
            f"the {step} step answered {problem}" + (f": {description}" if description else ""),
            details={"error": problem, "status_code": response.status_code},
        )
    return params
