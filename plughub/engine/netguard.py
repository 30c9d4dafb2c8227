"""Keep outbound requests off private, loopback, link-local and metadata addresses (SSRF guard).

`GuardedTransport` resolves each request's host once, checks every address, and pins the connection
to the checked address (no DNS-rebinding window); each redirect hop is a new request, checked again.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Union

import httpx

from plughub.exceptions import ConfigurationError

__all__ = [
    "ALLOWLIST_ENV",
    "Allowlist",
    "GuardedTransport",
    "OutboundBlocked",
    "check_addresses",
    "is_blocked_address",
    "parse_allowlist",
    "refusal",
]

logger = logging.getLogger("plughub.netguard")

ALLOWLIST_ENV = "PLUGHUB_ALLOW_PRIVATE_NETWORKS"

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

# Listed explicitly because the `is_private`/`is_global` tables differ between Python releases.
_BLOCKED_NETWORKS: tuple[IPNetwork, ...] = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",
    "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4",
    "240.0.0.0/4", "::/128", "::1/128", "64:ff9b:1::/48", "100::/64", "2001:db8::/32", "fc00::/7", "fe80::/10",
    "fec0::/10", "ff00::/8",
))  # fmt: skip
_METADATA = frozenset(ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200"))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_COMPATIBLE = ipaddress.ip_network("::/96")
_LABEL = r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?"
_HOSTNAME = re.compile(rf"(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*")


@dataclass(frozen=True)
class Allowlist:
    """What the operator allows despite being private.

    Attributes:
        networks: Allowed address ranges.
        hosts: Allowed host names, lower case, without a trailing dot.
        allow_all: `*` was given: nothing is blocked.
    """

    networks: tuple[IPNetwork, ...] = ()
    hosts: frozenset[str] = frozenset()
    allow_all: bool = False

    def allows(self, host: str, ip: IPAddress) -> bool:
        """Tell whether connecting to `ip` for `host` is allowed although the address is blocked.

        Args:
            host: The host name as in the URL (exact, case-insensitive match).
            ip: A resolved address (an IPv4-mapped one matches IPv4 ranges too).

        Returns:
            True when allowed.
        """
        if self.allow_all or host.lower().rstrip(".") in self.hosts:
            return True
        embedded = _embedded_ipv4(ip) if isinstance(ip, ipaddress.IPv6Address) else None
        return any(a is not None and a in net for a in (ip, embedded) for net in self.networks)


def parse_allowlist(value: str | None) -> Allowlist:
    """Parse `PLUGHUB_ALLOW_PRIVATE_NETWORKS`.

    Args:
        value: Comma-separated entries: networks (`127.0.0.0/8`, `::1/128`, `10.1.2.3`), host names
            (`localhost`, exact and case-insensitive) or `*` for everything. None or empty: nothing.

    Returns:
        The allowlist.

    Raises:
        ConfigurationError: An entry is neither a network nor a host name.
    """
    networks: list[IPNetwork] = []
    hosts: set[str] = set()
    allow_all = False
    for raw in (value or "").split(","):
        entry = raw.strip().lower().rstrip(".")
        try:
            networks.append(ipaddress.ip_network(entry))
        except ValueError:
            if entry == "*":
                allow_all = True
            elif _HOSTNAME.fullmatch(entry) and not entry.rsplit(".", 1)[-1].isdigit():
                hosts.add(entry)
            elif raw.strip():
                raise ConfigurationError(
                    f"{ALLOWLIST_ENV}: {raw.strip()!r} is neither an IP network in CIDR form with the host bits "
                    "zero (10.0.0.0/8, ::1/128, 10.1.2.3) nor a host name."
                ) from None
    return Allowlist(tuple(networks), frozenset(hosts), allow_all)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip in _NAT64 or (ip in _COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.ipv4_mapped or ip.sixtofour


def is_blocked_address(ip: IPAddress) -> bool:
    """Tell whether an address is private, loopback, link-local, metadata or otherwise not public.

    IPv6 forms that carry an IPv4 address (`::ffff:a.b.c.d`, `::a.b.c.d`, NAT64 `64:ff9b::/96`,
    6to4 `2002::/16`) are judged by that IPv4 address.

    Args:
        ip: The address.

    Returns:
        True when plughub must not connect to it unless allowed.
    """
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return is_blocked_address(embedded)
    if ip in _METADATA or any(ip in net for net in _BLOCKED_NETWORKS if net.version == ip.version):
        return True
    return ip.is_private or ip.is_multicast or ip.is_reserved or ip.is_link_local or not ip.is_global


class OutboundBlocked(httpx.ConnectError):
    """An outbound request was refused because its host resolves to a blocked address."""


def refusal(allowlist: Allowlist, name: str, shown: str, addresses: Sequence[IPAddress]) -> str | None:
    """Why the guard refuses a host, or None when every address it resolves to is public or allowed.

    The reason names the host only; what it resolves to is logged (a warning) for the operator.

    Args:
        allowlist: What the operator allows despite being private.
        name: The host as in the URL (what a host name entry of the allowlist matches).
        shown: The host as messages show it.
        addresses: Every address the host resolves to.

    Returns:
        The message of the refusal, or None.
    """
    for ip in addresses:
        if is_blocked_address(ip) and not allowlist.allows(name, ip):
            # What a name resolves to is the operator's business: the log has it, the caller does not.
            logger.warning(
                "network guard refused %s: it resolves to %s, a private, loopback, link-local or cloud-metadata "
                "address not allowed in %s",
                shown,
                ip,
                ALLOWLIST_ENV,
            )
            return (
                f"refused by plughub's network guard: the host {shown} is not allowed. The operator of this "
                f"plughub can allow it in {ALLOWLIST_ENV}."
            )
    return None


def check_addresses(
    allowlist: Allowlist,
    name: str,
    shown: str,
    addresses: Sequence[IPAddress],
    request: httpx.Request | None = None,
) -> None:
    """Refuse a host unless every address it resolves to is public or allowed (see `refusal`).

    Args:
        allowlist: What the operator allows despite being private.
        name: The host as in the URL (what a host name entry of the allowlist matches).
        shown: The host as messages show it.
        addresses: Every address the host resolves to.
        request: The request, attached to the error.

    Raises:
        OutboundBlocked: An address is blocked and not allowed.
    """
    refused = refusal(allowlist, name, shown, addresses)
    if refused is not None:
        raise OutboundBlocked(refused, request=request)


_MAX_POOLS = 256


class GuardedTransport(httpx.BaseTransport):
    """A transport that checks resolved addresses and pins each request to the address checked.

    Pinning rewrites the URL to the address, so a connection pool would be keyed by IP and could
    hand a TLS connection verified for one host name to another name on the same address. Each
    host name therefore gets its own pool (the most recent 256 are kept).

    Args:
        allowlist: What is allowed despite being private; nothing by default.
        transport: One transport that sends every pinned request (tests); by default an
            `httpx.HTTPTransport(**transport_kwargs)` per host name.
        **transport_kwargs: Passed to each default `httpx.HTTPTransport` (verify, limits, ...).
    """

    def __init__(
        self,
        allowlist: Allowlist | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        **transport_kwargs: Any,
    ) -> None:
        self.allowlist = allowlist or Allowlist()
        self._injected = transport
        self._kwargs = transport_kwargs
        self._by_host: OrderedDict[str, httpx.BaseTransport] = OrderedDict()
        self._lock = threading.Lock()

    def _inner_for(self, host: str) -> httpx.BaseTransport:
        if self._injected is not None:
            return self._injected
        with self._lock:
            inner = self._by_host.get(host)
            if inner is None:
                inner = self._by_host[host] = httpx.HTTPTransport(**self._kwargs)
                if len(self._by_host) > _MAX_POOLS:
                    _old_host, oldest = self._by_host.popitem(last=False)
                    oldest.close()
            else:
                self._by_host.move_to_end(host)
            return inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Resolve, check and send the request to the first permitted address.

        Args:
            request: The request.

        Returns:
            The inner transport's response.

        Raises:
            OutboundBlocked: The host resolves to a blocked address that is not allowed.
            httpx.ConnectError: The host name does not resolve.
        """
        addresses = self._resolve(request)
        check_addresses(self.allowlist, request.url.raw_host.decode("ascii"), request.url.host, addresses, request)
        headers = request.headers.copy()  # keeps the original Host header
        extensions = dict(request.extensions)
        if request.url.scheme == "https":
            extensions.setdefault("sni_hostname", request.url.raw_host.decode("ascii"))
        url = request.url.copy_with(host=str(addresses[0]))
        pinned = httpx.Request(request.method, url, headers=headers, stream=request.stream, extensions=extensions)
        return self._inner_for(request.url.raw_host.decode("ascii").lower()).handle_request(pinned)

    def close(self) -> None:
        """Close the inner transports."""
        if self._injected is not None:
            self._injected.close()
        with self._lock:
            for inner in self._by_host.values():
                inner.close()
            self._by_host.clear()

    @staticmethod
    def _resolve(request: httpx.Request) -> list[IPAddress]:
        name = request.url.raw_host.decode("ascii")
        try:
            infos = socket.getaddrinfo(name, request.url.port or 0, type=socket.SOCK_STREAM)
            addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
        except (OSError, UnicodeError, ValueError) as exc:
            raise httpx.ConnectError(f"could not resolve host {request.url.host}: {exc}", request=request) from exc
        return addresses
