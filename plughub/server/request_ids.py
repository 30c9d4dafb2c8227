"""Request ids, the paths the logs show, and the headers every answer carries (see `Front`)."""

from __future__ import annotations

import itertools
import logging
import os
import re
from collections.abc import Iterable

__all__ = ["loggable_path", "new_request_id", "request_id_from", "request_id_of", "with_standard_headers"]

logger = logging.getLogger("plughub.server")

_PROCESS = os.urandom(8).hex()  # tells this process's ids from every other's
_COUNTER = itertools.count()
# What a client may choose as its request id: it is echoed in a header and written in every log
# line of the request, so nothing that could split a line, forge a field or carry a secret.
_CLIENT_ID = re.compile(rb"[A-Za-z0-9._-]{1,64}")
# Paths whose next segment is a bearer secret (a connect session's single-use token, a webhook's
# token): logged as `***`, as query strings are, so that reading the logs gives no working link.
_SECRET_SEGMENT = re.compile(r"^(/(?:connect|webhooks)/)[^/]+")
_SECRET_PREFIXES = ("/connect/", "/webhooks/")
_HTML = re.compile(rb"\s*text/html\b", re.IGNORECASE)
# Everything a browser may be told about any answer: no content sniffing.
_ALWAYS = ((b"x-content-type-options", b"nosniff"),)
# And about a page: never framed (clickjacking), no Referer to where its links lead. A page that
# sets its own, tighter, Content-Security-Policy keeps it.
_PAGES = ((b"x-frame-options", b"DENY"), (b"referrer-policy", b"no-referrer"))
_FRAMING = (b"content-security-policy", b"frame-ancestors 'none'")


def _forked() -> None:
    global _PROCESS, _COUNTER  # a forked worker (gunicorn --preload) needs its own
    _PROCESS, _COUNTER = os.urandom(8).hex(), itertools.count()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked)


def new_request_id() -> str:
    """A request id unique across processes: 32 hex digits, a random per-process half and a counter.

    Ids correlate log lines; they are no secret, so the counter spares a system call per request.

    Returns:
        The id.
    """
    return f"{_PROCESS}{next(_COUNTER) & 0xFFFF_FFFF_FFFF_FFFF:016x}"


def request_id_of(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The id of a request: the client's `X-Request-Id` when it is a short safe token, else a new one.

    Args:
        headers: The request's ASGI headers.

    Returns:
        At most 64 letters, digits, `.`, `_` and `-`.
    """
    sent = next((value for key, value in headers if key == b"x-request-id"), b"")
    return request_id_from(sent)


def request_id_from(sent: bytes) -> str:
    """The id of a request that sent this `X-Request-Id` (`b""`: none): it when safe, else a new one.

    Args:
        sent: The header's value.

    Returns:
        At most 64 letters, digits, `.`, `_` and `-`.
    """
    return sent.decode("ascii") if _CLIENT_ID.fullmatch(sent) else new_request_id()


def loggable_path(path: str) -> str:
    """A request path as the logs show it: a secret token in it replaced by `***`.

    Args:
        path: The request's path (never its query, which is not logged at all).

    Returns:
        The path, `/connect/<token>` as `/connect/***` (and `/webhooks/<token>` alike).
    """
    if not path.startswith(_SECRET_PREFIXES):  # most paths: no pattern to run
        return path
    return _SECRET_SEGMENT.sub(r"\1***", path)


def with_standard_headers(headers: Iterable[tuple[bytes, bytes]], request_id: str) -> list[tuple[bytes, bytes]]:
    """An answer's headers with the request id and the security headers every answer carries.

    Args:
        headers: The answer's ASGI headers.
        request_id: The request's id.

    Returns:
        The headers, `X-Request-Id` replaced, `X-Content-Type-Options: nosniff` added, and for an
        HTML page `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer` and, unless the page
        has its own, `Content-Security-Policy: frame-ancestors 'none'`.
    """
    sent: list[tuple[bytes, bytes]] = []
    names: set[bytes] = set()
    content_type = None
    for header in headers:  # one pass: this runs for every answer
        name = header[0].lower()
        if name == b"x-request-id":
            continue
        sent.append(header)
        names.add(name)
        if name == b"content-type" and content_type is None:
            content_type = header[1]
    added = [header for header in _ALWAYS if header[0] not in names]
    if content_type is None:
        content_type = b""
    if _HTML.match(content_type):
        added.extend(header for header in _PAGES if header[0] not in names)
        if _FRAMING[0] not in names:
            added.append(_FRAMING)
    return [*sent, *added, (b"x-request-id", request_id.encode("ascii"))]
