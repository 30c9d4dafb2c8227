"""A proxied request, checked and built: any path under the connection's base URL, nothing else.

The caller chooses the method, the path, the query, the headers and the body; plughub adds the
credentials. So the checks keep those credentials where the connection sends them: the URL stays
on the base URL's origin (an absolute URL elsewhere, a `//host` path, dot segments even
percent-encoded, are refused), and the caller cannot set `Authorization`, the scheme's own
header, cookie or query names, or the headers that belong to the connection itself (hop-by-hop,
`Host`, `Content-Length`). Every refusal is an `InvalidInput` raised before anything is sent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import httpx

from plughub.engine.catalog.models import IntegrationSpec
from plughub.engine.http.checks import header_safe, same_origin
from plughub.engine.http.render import flatten
from plughub.enums import AuthenticationSchema
from plughub.exceptions import InvalidInput

__all__ = ["METHODS", "Reserved", "build_proxy_request", "reserved_names", "response_headers", "split_body"]

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
# RFC 9110 §7.6.1 connection-specific headers, and those the connection itself sets.
_CONNECTION_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "authorization",
    }
)
# Headers that describe this hop's encoding of the answer, which no longer holds once it is decoded.
_ANSWER_ONLY = frozenset({"content-length", "content-encoding", "transfer-encoding", "connection", "keep-alive"})
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Reserved:
    """What only the connection's scheme sets: header names (lower case), query names, cookies.

    Attributes:
        headers: Header names, lower case.
        query: Query parameter names.
        cookie: Whether the scheme sends a cookie (then the caller's `Cookie` header is refused).
    """

    headers: frozenset[str] = field(default_factory=frozenset)
    query: frozenset[str] = field(default_factory=frozenset)
    cookie: bool = False


def reserved_names(spec: IntegrationSpec, scheme: AuthenticationSchema) -> Reserved:
    """The headers, query parameters and cookies a connection's scheme puts its credentials in.

    Args:
        spec: The integration.
        scheme: The connection's scheme.

    Returns:
        The names the caller may not set (`Authorization` is always reserved).
    """
    auth = spec.auth_for(scheme)
    headers = {"authorization"}
    query: set[str] = set()
    cookie = False
    # OAuth 1.0a signs in Authorization; OAuth 2.0 sends Authorization unless it says otherwise.
    placed = auth is not None and scheme not in (AuthenticationSchema.OAUTH1, AuthenticationSchema.NO_AUTH)
    if auth is not None and placed and (scheme is not AuthenticationSchema.OAUTH2 or auth.apply):
        for item in auth.apply_items():
            if item.header:
                headers.add(item.header.lower())
            elif item.query:
                query.add(item.query)
            elif item.cookie:
                cookie = True
    return Reserved(frozenset(headers), frozenset(query), cookie)


def build_proxy_request(
    label: str,
    base_url: str,
    method: str,
    path: str,
    *,
    reserved: Reserved,
    default_headers: Mapping[str, str],
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    json: Any = None,
    data: Mapping[str, Any] | str | bytes | None = None,
) -> httpx.Request:
    """Check a proxied request and build it (without credentials).

    Args:
        label: Who is called, for messages ("GitHub proxy").
        base_url: The connection's base URL.
        method: The HTTP method.
        path: Relative to the base URL (`/user/repos`), or an absolute URL on its origin.
        reserved: What the connection's scheme sets.
        default_headers: The integration's headers (the caller's override them).
        params: Query parameters (lists repeat the key, objects nest as `key[field]`).
        headers: The caller's headers.
        json: A JSON body (None: none).
        data: A form body (a mapping) or a raw one (text or bytes).

    Returns:
        The request.

    Raises:
        InvalidInput: What the caller asked for is refused (the message names it); nothing is sent.
    """
    verb = method.upper() if isinstance(method, str) else ""
    if verb not in METHODS:
        raise InvalidInput(
            f"{label}: method {method!r} is not one plughub sends; use one of {', '.join(METHODS)}",
            details={"field": "method", "accepted": list(METHODS)},
        )
    url = _url(label, base_url, path, reserved)
    pairs: list[tuple[str, str | int | float | bool | None]] = [
        pair for key, value in (params or {}).items() for pair in flatten(str(key), value)
    ]
    for key, _value in pairs:
        if key in reserved.query:
            raise _refused(label, f"query parameter {key!r}", "the connection sends its credentials there")
    sent = _headers(label, headers or {}, reserved)
    merged = {k: v for k, v in default_headers.items() if k.lower() not in {h.lower() for h in sent}}
    merged.update(sent)
    if json is not None and data is not None:
        raise InvalidInput(f"{label}: give json or data, not both", details={"field": "json"})
    if data is not None and not isinstance(data, (Mapping, str, bytes)):
        raise InvalidInput(f"{label}: data is a mapping (a form) or text; got {type(data).__name__}")
    kwargs: dict[str, Any] = {}
    if json is not None:
        kwargs["json"] = json
    elif isinstance(data, Mapping):
        kwargs["data"] = {str(k): v for k, v in data.items()}
    elif data is not None:
        kwargs["content"] = data
    if pairs:
        url = url.copy_merge_params(pairs)  # `params=` would replace a query written in the path
    try:
        return httpx.Request(verb, url, headers=merged, **kwargs)
    except (TypeError, ValueError, UnicodeError) as exc:
        raise InvalidInput(f"{label}: the request cannot be built: {type(exc).__name__}") from None


def _url(label: str, base_url: str, path: str, reserved: Reserved) -> httpx.URL:
    if not isinstance(path, str):
        raise InvalidInput(f"{label}: path is text (/users/me), not {type(path).__name__}", details={"field": "path"})
    if _CONTROL.search(path) or "\\" in path or "#" in path:
        raise _refused(label, f"path {path[:200]!r}", "it holds a control character, a backslash or a fragment (#)")
    base = httpx.URL(base_url)
    if path.startswith("//") or _SCHEME.match(path):
        try:
            absolute = httpx.URL(path)
        except httpx.InvalidURL:
            raise _refused(label, f"path {path[:200]!r}", "it is not a valid URL") from None
        if absolute.scheme not in ("http", "https") or not same_origin(absolute, base):
            raise _refused(
                label,
                f"the URL {path[:200]!r}",
                f"it is not on the connection's origin ({base.scheme}://{base.netloc.decode()}); credentials only go "
                "there. Give a path relative to the base URL",
            )
        target = path
    elif path.startswith("?") or not path:
        target = base_url + path
    else:
        target = base_url.rstrip("/") + "/" + path.lstrip("/")
    parts = urlsplit(target)
    if _dot_segments(parts.path):
        raise _refused(
            label,
            f"path {path[:200]!r}",
            "it has a '.' or '..' segment (also when percent-encoded), which would leave the base URL's path; write "
            "the path it stands for",
        )
    for key, _value in parse_qsl(parts.query, keep_blank_values=True):
        if key in reserved.query:
            raise _refused(label, f"query parameter {key!r}", "the connection sends its credentials there")
    try:
        url = httpx.URL(target)
    except httpx.InvalidURL as exc:
        raise _refused(label, f"path {path[:200]!r}", f"it does not make a valid URL ({exc})") from None
    if not same_origin(url, base):  # pragma: no cover - the checks above keep the origin
        raise _refused(label, f"path {path[:200]!r}", "it leaves the connection's origin")
    return url


def _dot_segments(path: str) -> bool:
    """Whether a path has a `.` or `..` segment, as written or once percent-decoding (repeatedly) is applied."""
    seen = path
    for _ in range(4):  # %252e%252e decodes in two rounds; more rounds than that are not expected
        if any(segment in (".", "..") for segment in seen.split("/")):
            return True
        decoded = unquote(seen)
        if decoded == seen:
            return False
        seen = decoded
    return True  # still encoded after four rounds: refuse rather than guess


def _headers(label: str, headers: Mapping[str, str], reserved: Reserved) -> dict[str, str]:
    sent: dict[str, str] = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not _TOKEN.match(name):
            raise _refused(label, f"header name {str(name)[:100]!r}", "it is not a valid HTTP header name")
        lower = name.lower()
        if lower in _CONNECTION_HEADERS or lower in reserved.headers or (lower == "cookie" and reserved.cookie):
            why = (
                "the connection sets it with its credentials"
                if lower == "authorization" or lower in reserved.headers or lower == "cookie"
                else "it belongs to the connection between plughub and the service, not to the request"
            )
            raise _refused(label, f"header {name!r}", why)
        if not isinstance(value, str) or not header_safe(value):
            raise _refused(label, f"the value of header {name!r}", "a header value is printable ASCII text on one line")
        sent[name] = value
    return sent


def _refused(label: str, what: str, why: str) -> InvalidInput:
    return InvalidInput(f"{label}: {what} is refused: {why}; nothing was sent.", details={"refused": what})


def response_headers(headers: httpx.Headers, clean: Any) -> dict[str, str]:
    """An answer's headers as the caller sees them: this hop's encoding headers left out, secrets masked.

    Args:
        headers: The answer's headers.
        clean: Masks secret values in a text (the connection's redactor's `text`).

    Returns:
        The headers (several of one name joined with ", ").
    """
    shown: dict[str, str] = {}
    for raw_name, raw_value in headers.raw:  # the names as the service wrote them
        name, value = raw_name.decode("latin-1"), clean(raw_value.decode("latin-1"))
        if name.lower() in _ANSWER_ONLY:
            continue
        shown[name] = f"{shown[name]}, {value}" if name in shown else value
    return shown


def split_body(body: Any, headers: Mapping[str, str] | None) -> tuple[Any, Mapping[str, Any] | str | None]:
    """Read a REST proxy body (`{"body": ...}`): JSON, unless the request's Content-Type says otherwise.

    An object with `Content-Type: application/x-www-form-urlencoded` is a form; text with a
    Content-Type that is not JSON is sent as it is; anything else is sent as JSON.

    Args:
        body: The `body` member (None: no body).
        headers: The request's headers.

    Returns:
        `(json, data)` for `ProxyService.request`: one of them is None.
    """
    if body is None:
        return None, None
    content_type = next((v for k, v in (headers or {}).items() if k.lower() == "content-type"), "")
    media = content_type.split(";")[0].strip().lower()
    if isinstance(body, Mapping) and media == "application/x-www-form-urlencoded":
        return None, body
    if isinstance(body, str) and media and media != "application/json" and not media.endswith("+json"):
        return None, body
    return body, None
