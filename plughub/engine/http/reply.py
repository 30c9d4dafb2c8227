"""`Reply`: a service's whole answer as the asynchronous transport read it, without httpx's `Response`.

Building an `httpx.Response` (its headers, a byte stream, the read through the content decoders)
cost about a tenth of a run's CPU on the server. The sender's rules read little of an answer: the
status, a header or two, the body as bytes or JSON. A `Reply` gives those directly, and builds
the `httpx.Response` only when something asks for more (`response`, `headers`, `text`): an
error's excerpt, a redirect's `Location`, a `Retry-After`. What it gives is what that response
gives.

An answer with a `Content-Encoding` is not a `Reply`: the transport builds the `httpx.Response`,
which decodes it.
"""

from __future__ import annotations

import json
from functools import cached_property
from typing import Any

import httpx

__all__ = ["Reply"]

_REDIRECTS = frozenset({301, 302, 303, 307, 308})  # httpx's `codes.is_redirect`


class Reply:
    """A service's answer, its body read and not encoded (no `Content-Encoding`).

    Args:
        status_code: The status.
        raw_headers: The headers as received (name, value) in bytes.
        content: The body.
        reason_phrase: The status line's reason.
        request: The request it answers.
    """

    __slots__ = ("__dict__", "content", "raw_headers", "reason_phrase", "request", "status_code")

    def __init__(
        self,
        status_code: int,
        raw_headers: list[tuple[bytes, bytes]],
        content: bytes,
        reason_phrase: str,
        request: httpx.Request,
    ) -> None:
        self.status_code = status_code
        self.raw_headers = raw_headers
        self.content = content
        self.reason_phrase = reason_phrase
        self.request = request

    def __repr__(self) -> str:
        return f"<Reply [{self.status_code}]>"

    @cached_property
    def response(self) -> httpx.Response:
        """The same answer as an `httpx.Response` (built on first use).

        Returns:
            The response, its body read.
        """
        return httpx.Response(
            self.status_code,
            headers=self.raw_headers,
            content=self.content,
            request=self.request,
            extensions={"reason_phrase": self.reason_phrase.encode("latin-1", "replace")},
        )

    @property
    def headers(self) -> httpx.Headers:
        """The headers, as `httpx.Response.headers` gives them."""
        return self.response.headers

    @property
    def text(self) -> str:
        """The body as text, as `httpx.Response.text` decodes it."""
        return self.response.text

    @property
    def is_success(self) -> bool:
        """Whether the status is 2xx."""
        return 200 <= self.status_code <= 299

    @property
    def is_redirect(self) -> bool:
        """Whether the status is a redirect's (301, 302, 303, 307, 308), as httpx says it."""
        return self.status_code in _REDIRECTS

    def header(self, name: str) -> str | None:
        """A header's value, found without building `headers` (several values joined by ", ", as httpx does).

        Args:
            name: The header's name (any case).

        Returns:
            The value as latin-1 text (what httpx gives for ASCII values), or None.
        """
        wanted = name.lower().encode("ascii")
        found = [value.decode("latin-1") for key, value in self.raw_headers if key.lower() == wanted]
        return ", ".join(found) if found else None

    def json(self) -> Any:
        """The body parsed as JSON, as `httpx.Response.json` parses it (`json.loads` of the bytes).

        Returns:
            The value.

        Raises:
            ValueError: The body is not JSON.
        """
        return json.loads(self.content)

    def close(self) -> None:
        """Nothing to release: the body was read whole."""
