"""Authorization discovery as the MCP authorization spec does it, as pure functions.

Where to look and what to accept: the Bearer challenge of a 401 (RFC 6750 §3, RFC 9728 §5.1),
protected resource metadata (RFC 9728) and authorization server metadata (RFC 8414, with OpenID
Connect Discovery as the spec's fallback). The requests themselves are sent by
`plughub.engine.mcp_client.authorization`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from plughub.exceptions import OAuthProviderError

__all__ = [
    "AuthorizationServer",
    "ProtectedResource",
    "check_resource_metadata",
    "check_server_metadata",
    "check_url",
    "is_loopback_host",
    "parse_challenges",
    "resource_metadata_urls",
    "same_url",
    "server_metadata_urls",
]

_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
# One item of a WWW-Authenticate value: an auth-param (name=value) or the scheme of a new challenge.
_ITEM = re.compile(rf'[\s,]*(?:(?P<name>{_TOKEN})\s*=\s*(?P<value>"(?:[^"\\]|\\.)*"|[^\s,]*)|(?P<scheme>{_TOKEN}))')
# Characters no URL holds unencoded (RFC 3986); `${` would also read as a definition template.
_UNSAFE = re.compile(r'[\s"<>\\^`{|}]')
_PRM = "/.well-known/oauth-protected-resource"
_OAUTH = "/.well-known/oauth-authorization-server"
_OIDC = "/.well-known/openid-configuration"


def parse_challenges(header: str) -> dict[str, dict[str, str]]:
    """Read a `WWW-Authenticate` value: each challenge's parameters, by lower-case scheme.

    Args:
        header: The header's value (several challenges may share it).

    Returns:
        `{"bearer": {"resource_metadata": ..., "scope": ..., "error": ...}, ...}`; parameter names
        are lower case, quoted values unquoted.
    """
    challenges: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    position = 0
    while position < len(header):
        match = _ITEM.match(header, position)
        if match is None or match.end() == position:
            break
        position = match.end()
        if match.group("scheme"):
            current = challenges.setdefault(match.group("scheme").lower(), {})
        elif current is not None:
            value = match.group("value")
            if value.startswith('"'):
                value = re.sub(r"\\(.)", r"\1", value[1:-1])
            current[match.group("name").lower()] = value
    return challenges


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def resource_metadata_urls(server_url: str, from_challenge: str | None) -> list[str]:
    """Where to fetch protected resource metadata, in the order the MCP spec gives.

    Args:
        server_url: The MCP endpoint.
        from_challenge: The 401's `resource_metadata`, if it had one (it comes first).

    Returns:
        The URLs: the challenge's, then the well-known URI with the endpoint's path inserted, then
        the well-known URI at the root (RFC 9728 §3.1).
    """
    path = urlsplit(server_url).path.rstrip("/")
    urls = [from_challenge] if from_challenge else []
    if path:
        urls.append(_origin(server_url) + _PRM + path)
    urls.append(_origin(server_url) + _PRM)
    return list(dict.fromkeys(urls))


def server_metadata_urls(issuer: str) -> list[str]:
    """Where to fetch an authorization server's metadata, in the order the MCP spec gives.

    Args:
        issuer: The issuer identifier from the protected resource metadata.

    Returns:
        For an issuer with a path: RFC 8414 with the path inserted, OpenID Connect Discovery with
        the path inserted, then with it appended; without a path: RFC 8414, then OpenID Connect.
    """
    origin, path = _origin(issuer), urlsplit(issuer).path.rstrip("/")
    if path:
        return [origin + _OAUTH + path, origin + _OIDC + path, origin + path + _OIDC]
    return [origin + _OAUTH, origin + _OIDC]


def is_loopback_host(host: str) -> bool:
    """Whether a URL's host names this machine (`localhost`, 127.0.0.0/8, ::1).

    Args:
        host: The host, without brackets.

    Returns:
        True for a loopback host.
    """
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: Any, what: str, http_allowed: Callable[[str], bool]) -> str:
    """Refuse an endpoint that is not an absolute https URL (http only where `http_allowed` says).

    Args:
        url: The value from a metadata document.
        what: What it is, for the message ("the token endpoint").
        http_allowed: Whether plain http is acceptable for a host (a loopback one the guard allows).

    Returns:
        The URL.

    Raises:
        OAuthProviderError: It is missing, not a URL, has a fragment, or is http elsewhere.
    """
    parts = urlsplit(url) if isinstance(url, str) and not _UNSAFE.search(url) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or parts.fragment:
        raise OAuthProviderError(f"{what} is not an absolute https URL", details={"error": "invalid_metadata"})
    if parts.scheme == "http" and not http_allowed(parts.hostname):
        raise OAuthProviderError(
            f"{what} uses http ({_origin(str(url))}); OAuth endpoints must use https (http is accepted on a "
            "loopback address only)",
            details={"error": "insecure_metadata"},
        )
    return str(url)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def same_url(a: str, b: str) -> bool:
    """Whether two identifiers are the same URL (`https://as` and `https://as/` are).

    Args:
        a: One URL.
        b: The other.

    Returns:
        True when identical but for the slash of an empty path.
    """

    def bare(url: str) -> str:
        return url[:-1] if url.endswith("/") and urlsplit(url).path == "/" else url

    return bare(a) == bare(b)


@dataclass(frozen=True)
class ProtectedResource:
    """What an MCP server's protected resource metadata says (RFC 9728 §2).

    Attributes:
        resource: Its resource identifier: the `resource` parameter of every OAuth request (RFC 8707).
        authorization_servers: Issuer identifiers of the servers that issue its tokens.
        scopes: The scopes it names (`scopes_supported`), if any.
    """

    resource: str
    authorization_servers: tuple[str, ...]
    scopes: tuple[str, ...] | None


def _endpoint_of(scheme: str, host: str | None, port: int | None) -> tuple[str, str, int | None]:
    scheme = scheme.lower()
    return scheme, (host or "").lower(), port or {"http": 80, "https": 443}.get(scheme)


def _within(resource: str, server_url: str) -> bool:
    # The resource is the endpoint or a parent of it, on the same origin (the MCP spec's canonical URI).
    r, s = urlsplit(resource), urlsplit(server_url)
    if _endpoint_of(r.scheme, r.hostname, r.port) != _endpoint_of(s.scheme, s.hostname, s.port):
        return False
    mine, theirs = r.path.rstrip("/"), s.path.rstrip("/")
    return not r.query and not r.fragment and (theirs == mine or theirs.startswith(mine + "/"))


def check_resource_metadata(document: Any, server_url: str, origin: str) -> ProtectedResource:
    """Validate protected resource metadata for an MCP endpoint.

    Args:
        document: The parsed JSON.
        server_url: The MCP endpoint it must describe.
        origin: The endpoint's origin, for messages (its path may hold a key).

    Returns:
        The resource.

    Raises:
        OAuthProviderError: Not an object, a `resource` that is not the endpoint (or a parent of
            it on the same origin), or no authorization server.
    """
    where = f"the protected resource metadata of the MCP server at {origin}"
    if not isinstance(document, Mapping):
        raise OAuthProviderError(f"{where} is not a JSON object", details={"error": "invalid_metadata"})
    resource = document.get("resource")
    if not isinstance(resource, str) or not _within(resource, server_url):
        raise OAuthProviderError(
            f"{where} names another resource than the server's URL; refusing it (RFC 9728 §3.3)",
            details={"error": "resource_mismatch"},
        )
    servers = document.get("authorization_servers")
    if not isinstance(servers, list) or not servers or not all(isinstance(s, str) and s for s in servers):
        raise OAuthProviderError(f"{where} names no authorization server", details={"error": "invalid_metadata"})
    scopes = document.get("scopes_supported")
    listed = tuple(s for s in scopes if isinstance(s, str)) if isinstance(scopes, list) else None
    return ProtectedResource(resource, tuple(servers), listed)


@dataclass(frozen=True)
class AuthorizationServer:
    """What an authorization server's metadata says, checked.

    Attributes:
        issuer: Its issuer identifier, as its metadata spells it.
        authorization_endpoint: Where the user gives consent.
        token_endpoint: Where codes and refresh tokens become access tokens.
        registration_endpoint: Where clients register themselves (RFC 7591), if it allows it.
        revocation_endpoint: Where tokens are revoked (RFC 7009), if it has one.
        token_auth_methods: How clients may authenticate at the token endpoint.
        scopes: The scopes it names, if any.
        issuer_in_callback: It says its callbacks carry `iss` (RFC 9207
            `authorization_response_iss_parameter_supported`), so one without it is refused.
    """

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    registration_endpoint: str | None
    revocation_endpoint: str | None
    token_auth_methods: tuple[str, ...]
    scopes: tuple[str, ...] | None
    issuer_in_callback: bool = False


def check_server_metadata(document: Any, issuer: str, http_allowed: Callable[[str], bool]) -> AuthorizationServer:
    """Validate authorization server metadata for the issuer it was fetched for.

    Args:
        document: The parsed JSON (RFC 8414 or OpenID Connect Discovery).
        issuer: The issuer identifier it was fetched for.
        http_allowed: Whether plain http is acceptable for a host.

    Returns:
        The server.

    Raises:
        OAuthProviderError: Not an object, another `issuer` (RFC 8414 §3.3), an endpoint that is
            missing or not https, no PKCE with S256, or no authorization code grant.
    """
    where = f"the authorization server {issuer}"
    if not isinstance(document, Mapping):
        raise OAuthProviderError(f"the metadata of {where} is not a JSON object", details={"error": "invalid_metadata"})
    claimed = document.get("issuer")
    if not isinstance(claimed, str) or not same_url(claimed, issuer):
        raise OAuthProviderError(
            f"the metadata of {where} names another issuer ({_shown(claimed)}); refusing metadata that may come from "
            "another authorization server (RFC 8414 §3.3)",
            details={"error": "issuer_mismatch"},
        )
    methods = document.get("code_challenge_methods_supported")
    if not isinstance(methods, list) or "S256" not in methods:
        raise OAuthProviderError(
            f"{where} does not support PKCE with S256 (code_challenge_methods_supported), which the MCP "
            "authorization spec requires; refusing to proceed",
            details={"error": "pkce_unsupported"},
        )
    for key, wanted in (("response_types_supported", "code"), ("grant_types_supported", "authorization_code")):
        listed = document.get(key)
        if isinstance(listed, list) and wanted not in listed:
            raise OAuthProviderError(f"{where} does not offer {wanted} ({key})", details={"error": "invalid_metadata"})
    optional = {}
    for key in ("registration_endpoint", "revocation_endpoint"):
        value = document.get(key)
        optional[key] = check_url(value, f"the {key} of {where}", http_allowed) if value else None
    auth_methods = document.get("token_endpoint_auth_methods_supported")
    scopes = document.get("scopes_supported")
    check_url(issuer, where, http_allowed)
    return AuthorizationServer(
        issuer=claimed,  # the server's own spelling: what its callbacks' `iss` carries (RFC 9207)
        authorization_endpoint=check_url(
            document.get("authorization_endpoint"), f"the authorization_endpoint of {where}", http_allowed
        ),
        token_endpoint=check_url(document.get("token_endpoint"), f"the token_endpoint of {where}", http_allowed),
        registration_endpoint=optional["registration_endpoint"],
        revocation_endpoint=optional["revocation_endpoint"],
        # RFC 8414 §2: client_secret_basic when the member is omitted.
        token_auth_methods=tuple(m for m in auth_methods if isinstance(m, str))
        if isinstance(auth_methods, list)
        else ("client_secret_basic",),
        scopes=tuple(s for s in scopes if isinstance(s, str)) if isinstance(scopes, list) else None,
        issuer_in_callback=document.get("authorization_response_iss_parameter_supported") is True,
    )
