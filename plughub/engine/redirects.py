"""Where a hosted connect page may send an end user back to: a team's allow-list of redirect URLs."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from plughub.exceptions import InvalidInput

__all__ = ["allowed_redirect", "check_redirect_urls", "with_outcome"]


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _parts(url: str) -> tuple[str, str, int | None, str]:
    split = urlsplit(url)
    scheme = split.scheme.lower()
    return scheme, (split.hostname or "").lower(), split.port or _DEFAULT_PORTS.get(scheme), split.path or "/"


def check_redirect_urls(urls: Iterable[str]) -> list[str]:
    """Validate the URLs a team allows, as it sets them.

    Each is an absolute `https://` (or `http://`) URL with a host, and no credentials, query or
    fragment: a session's `redirect_url` may add its own query.

    Args:
        urls: The URLs.

    Returns:
        The URLs, stripped, without duplicates, in order.

    Raises:
        InvalidInput: One is not such a URL (it is named, with what to change).
    """
    kept: list[str] = []
    for raw in urls:
        url = str(raw).strip()
        split = urlsplit(url)
        if split.scheme.lower() not in ("http", "https") or not split.hostname:
            raise InvalidInput(f"redirect URL {url!r} must be an absolute http:// or https:// address")
        if split.username or split.password:
            raise InvalidInput(f"redirect URL {url!r} must not hold a user name or password")
        if split.query or split.fragment:
            raise InvalidInput(
                f"redirect URL {url!r} must have no query or fragment; a session's redirect_url may add a query"
            )
        try:
            split.port  # noqa: B018 - a bad port raises here
        except ValueError:
            raise InvalidInput(f"redirect URL {url!r} has an invalid port") from None
        if url not in kept:
            kept.append(url)
    return kept


def allowed_redirect(url: str, allowed: Iterable[str]) -> bool:
    """Tell whether a session's `redirect_url` is on a team's list.

    It is when its scheme, host, port and path equal an allowed URL's; its query is free (an
    application may carry its own state there); a fragment, credentials or another path are not.

    Args:
        url: The session's redirect URL.
        allowed: The team's allowed URLs.

    Returns:
        Whether the connect page may send the end user there.
    """
    try:
        split = urlsplit(url)
        wanted = _parts(url)
    except ValueError:
        return False
    if split.fragment or split.username or split.password or wanted[0] not in ("http", "https"):
        return False
    return any(wanted == _parts(entry) for entry in allowed)


def with_outcome(url: str, connection_id: str, status: str) -> str:
    """The redirect URL with the outcome added to its query (`connection_id`, `status`).

    Args:
        url: The session's redirect URL.
        connection_id: The connection made.
        status: Its status (`active`, `failed`).

    Returns:
        The URL the end user is sent to.
    """
    split = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(split.query, keep_blank_values=True) if k not in ("connection_id", "status")]
    query += [("connection_id", connection_id), ("status", status)]
    return urlunsplit((split.scheme, split.netloc, split.path, urlencode(query), ""))
