"""The one place plughub builds HTTP clients, and the log filter that keeps query secrets out."""

from __future__ import annotations

import logging
from importlib.metadata import PackageNotFoundError, version

import httpx

__all__ = ["USER_AGENT", "RedactQueryFilter", "build_client", "redact_url"]

try:
    USER_AGENT = f"plughub/{version('plughub')} (+https://github.com/plughub/plughub)"
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    USER_AGENT = "plughub/0 (+https://github.com/plughub/plughub)"


def redact_url(url: httpx.URL | str) -> str:
    """Return a URL with every query value masked (an API key may travel in the query).

    Args:
        url: The URL.

    Returns:
        The URL as text, query values replaced by `***`.
    """
    url = httpx.URL(url) if isinstance(url, str) else url
    if not url.query:
        return str(url)
    masked = "&".join(f"{key}=***" for key, _value in url.params.multi_items())
    return f"{url.copy_with(query=None)}?{masked}"


class RedactQueryFilter(logging.Filter):
    """Mask query values in the URLs httpx logs ("HTTP Request: GET https://...?appid=...")."""

    def filter(self, record: logging.LogRecord) -> bool:  # noqa: D102
        if isinstance(record.args, tuple) and any(isinstance(a, httpx.URL) for a in record.args):
            record.args = tuple(redact_url(a) if isinstance(a, httpx.URL) else a for a in record.args)
        return True


_FILTER = RedactQueryFilter()
for _name in ("httpx", "httpcore"):
    _logger = logging.getLogger(_name)
    if not any(isinstance(f, RedactQueryFilter) for f in _logger.filters):
        _logger.addFilter(_FILTER)


def build_client(
    *,
    connect_timeout: float,
    read_timeout: float,
    transport: httpx.BaseTransport | None = None,
    trust_env: bool = True,
) -> httpx.Client:
    """Build the pooled client the sender sends every action through.

    Redirects are not followed by httpx: the sender follows only same-origin ones, so that a
    credential in a custom header or the query never travels to another host.

    Args:
        connect_timeout: Seconds to open a connection.
        read_timeout: Seconds to wait for data.
        transport: A transport to use instead of the network (tests, the network guard).
        trust_env: Honour proxy variables; off behind the network guard, which a proxy would bypass.

    Returns:
        The client.
    """
    timeout = httpx.Timeout(read_timeout, connect=connect_timeout)
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100, keepalive_expiry=30)
    return httpx.Client(
        timeout=timeout,
        limits=limits,
        headers={"User-Agent": USER_AGENT},
        transport=transport,
        follow_redirects=False,
        trust_env=trust_env,
    )
