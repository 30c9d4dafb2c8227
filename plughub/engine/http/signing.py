"""`SigningAuth`: an httpx auth flow that only signs its request (one request, no answer read, no I/O)."""

from __future__ import annotations

from collections.abc import Generator

import httpx

__all__ = ["SigningAuth"]


class SigningAuth(httpx.Auth):
    """An auth flow that adds credentials to its one request and reads no answer.

    httpx drives it as any flow (`auth_flow` yields `sign(request)`); plughub's sender calls
    `sign` itself, sparing each request two generators (httpx's `sync_auth_flow` around
    `auth_flow`), and hands it no answer.
    """

    def sign(self, request: httpx.Request) -> httpx.Request:
        """Add the credentials to a request.

        Args:
            request: The outgoing request (its body read when `requires_request_body` says so).

        Returns:
            The request to send (the same object, changed).
        """
        raise NotImplementedError

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Sign the request and send it once.

        Args:
            request: The outgoing request.

        Yields:
            The signed request.
        """
        yield self.sign(request)
