"""Sign every action request with OAuth 1.0a (RFC 5849); no I/O."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from plughub.engine.http.signing import SigningAuth

if TYPE_CHECKING:  # the signer is built (and Authlib imported) by plughub.engine.oauth.oauth1.client_auth
    from authlib.oauth1.rfc5849.client_auth import ClientAuth

__all__ = ["OAuth1Auth"]

_FORM = "application/x-www-form-urlencoded"


class OAuth1Auth(SigningAuth):
    """An httpx auth flow that adds an OAuth 1.0a `Authorization` header.

    A form body takes part in the signature (RFC 5849 §3.4.1.3.1); any other body is sent as is
    and left out of it. (Authlib's own httpx auth drops non-form bodies, hence this class.)

    Args:
        signer: Authlib's signer holding the client and token credentials.
    """

    requires_request_body = True

    def __init__(self, signer: ClientAuth) -> None:
        self._signer = signer

    def __repr__(self) -> str:
        return f"OAuth1Auth(signature_method={self._signer.signature_method!r})"

    def sign(self, request: httpx.Request) -> httpx.Request:
        """Sign the request.

        Args:
            request: The outgoing request, its body read.

        Returns:
            The signed request.
        """
        form = _FORM in request.headers.get("Content-Type", "")
        body = request.content.decode() if form else ""
        _uri, headers, _body = self._signer.sign(
            request.method, str(request.url), {"Content-Type": _FORM} if form else {}, body
        )
        request.headers["Authorization"] = headers["Authorization"]
        return request
