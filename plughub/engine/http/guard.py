"""Keep outbound requests off private, loopback, link-local and metadata addresses (SSRF guard).

One `Guard` resolves a host and checks every address it resolves to; each HTTP stack plughub
sends through asks it: `GuardedTransport` (httpx, the synchronous path), the aiohttp transport of
`plughub serve` (`plughub.engine.http.aio`) and the MCP client's httpx2 transport. Each connects to
an address the guard checked (no DNS-rebinding window); each redirect hop is a new request,
checked again.
"""

from __future__ import annotations

import asyncio
import functools
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
    "Guard",
    "GuardRefusal",
    "GuardedTransport",
    "IPAddress",
    "Resolved",
    "is_blocked_address",
    "parse_allowlist",
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


class GuardRefusal(httpx.ConnectError):
    """The guard refused a host: it resolves to a blocked address the operator did not allow.

    A connection error as httpx transports raise them (nothing was sent); the message names the
    host and the setting that allows it, never the address.
    """


@dataclass(frozen=True)
class Resolved:
    """One address a host name resolved to, checked by the guard.

    Attributes:
        address: The address.
        family: Its socket family (`AF_INET`, `AF_INET6`).
        proto: The socket protocol of the answer.
        host: The address as a socket takes it (an IPv6 zone kept).
    """

    address: IPAddress
    family: int
    proto: int
    host: str


class Guard:
    """Resolves hosts and refuses those that reach blocked addresses the allowlist does not allow.

    Args:
        allowlist: What the operator allows despite being private.
    """

    def __init__(self, allowlist: Allowlist) -> None:
        self.allowlist = allowlist

    def __repr__(self) -> str:
        return f"Guard(allow_all={self.allowlist.allow_all})"

    def refusal(self, name: str, shown: str, addresses: Sequence[IPAddress]) -> str | None:
        """Why the guard refuses a host, or None when every address it resolves to is public or allowed.

        The reason names the host only; what it resolves to is logged (a warning) for the operator.

        Args:
            name: The host as in the URL (what a host name entry of the allowlist matches).
            shown: The host as messages show it.
            addresses: Every address the host resolves to.

        Returns:
            The message of the refusal, or None.
        """
        for ip in addresses:
            if is_blocked_address(ip) and not self.allowlist.allows(name, ip):
                # What a name resolves to is the operator's business: the log has it, the caller does not.
                logger.warning(
                    "network guard refused %s: it resolves to %s, a private, loopback, link-local or "
                    "cloud-metadata address not allowed in %s",
                    shown,
                    ip,
                    ALLOWLIST_ENV,
                )
                return (
                    f"refused by plughub's network guard: the host {shown} is not allowed. The operator of this "
                    f"plughub can allow it in {ALLOWLIST_ENV}."
                )
        return None

    def check(
        self, name: str, shown: str, addresses: Sequence[IPAddress], request: httpx.Request | None = None
    ) -> None:
        """Refuse a host unless every address it resolves to is public or allowed (see `refusal`).

        Args:
            name: The host as in the URL.
            shown: The host as messages show it.
            addresses: Every address the host resolves to.
            request: The request, attached to the error.

        Raises:
            GuardRefusal: An address is blocked and not allowed.
        """
        refused = self.refusal(name, shown, addresses)
        if refused is not None:
            raise GuardRefusal(refused, request=request)

    def check_literal(self, name: str, host: str, request: httpx.Request | None = None) -> None:
        """Check a host written as an address (no resolver sees it); a host name passes.

        Args:
            name: The host as in the URL (`[::1]` keeps its brackets).
            host: The host without brackets.
            request: The request, attached to the error.

        Raises:
            GuardRefusal: The address is blocked and not allowed.
        """
        if _literal_blocked(self.allowlist, name, host):
            # The refusal again, uncached, so that every one is logged.
            self.check(name, host, [ipaddress.ip_address(host)], request)

    def resolve(self, name: str, port: int, *, shown: str | None = None) -> list[Resolved]:
        """Resolve a host and check every address (blocking: the synchronous path).

        Args:
            name: The host as in the URL (a name or an address).
            port: The port.
            shown: The host as messages show it (an internationalised name decoded); `name` by default.

        Returns:
            The addresses, every one permitted.

        Raises:
            GuardRefusal: An address is blocked and not allowed.
            OSError: The name does not resolve.
        """
        return self._checked(name, shown or name, socket.getaddrinfo(name, port, type=socket.SOCK_STREAM))

    async def resolve_async(
        self, name: str, port: int, *, family: int = socket.AF_UNSPEC, shown: str | None = None
    ) -> list[Resolved]:
        """`resolve` from an event loop (the lookup runs in the loop's resolver threads).

        Args:
            name: The host as in the URL.
            port: The port.
            family: Only this address family (`AF_UNSPEC`: any).
            shown: The host as messages show it; `name` by default.

        Returns:
            The addresses, every one permitted.

        Raises:
            GuardRefusal: An address is blocked and not allowed.
            OSError: The name does not resolve.
        """
        infos = await asyncio.get_running_loop().getaddrinfo(name, port, family=family, type=socket.SOCK_STREAM)
        return self._checked(name, shown or name, infos)

    def _checked(self, name: str, shown: str, infos: Sequence[Any]) -> list[Resolved]:
        try:
            found = [_resolved(info) for info in infos]
        except ValueError as exc:  # an answer that is not an address
            raise OSError(f"{name} resolved to something that is not an address") from exc
        self.check(name, shown, [r.address for r in found])
        return found


def _resolved(info: Any) -> Resolved:
    family, _type, proto, _name, sockaddr = info
    host = str(sockaddr[0])
    address = ipaddress.ip_address(host.split("%")[0])
    if family == socket.AF_INET6 and len(sockaddr) > 3 and sockaddr[3] and "%" not in host:
        host = f"{host}%{sockaddr[3]}"  # the zone of a link-local address
    return Resolved(address, int(family), int(proto), host)


@functools.lru_cache(maxsize=1024)
def _literal_blocked(allowlist: Allowlist, name: str, host: str) -> bool:
    """Whether the guard refuses a host given as an address (False: a name, or permitted); cached."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return is_blocked_address(ip) and not allowlist.allows(name, ip)


_MAX_POOLS = 256


class GuardedTransport(httpx.BaseTransport):
    """A transport that checks resolved addresses and pins each request to the address checked.

    Pinning rewrites the URL to the address, so a connection pool would be keyed by IP and could
    hand a TLS connection verified for one host name to another name on the same address. Each
    host name therefore gets its own pool (the most recent 256 are kept).

    Args:
        guard: The guard that resolves and checks each host; one allowing nothing private by default.
        transport: One transport that sends every pinned request (tests); by default an
            `httpx.HTTPTransport(**transport_kwargs)` per host name.
        **transport_kwargs: Passed to each default `httpx.HTTPTransport` (verify, limits, ...).
    """

    def __init__(
        self,
        guard: Guard | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        **transport_kwargs: Any,
    ) -> None:
        self.guard = guard or Guard(Allowlist())
        self._injected = transport
        self._kwargs = transport_kwargs
        self._by_host: OrderedDict[str, httpx.BaseTransport] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def pools(self) -> dict[str, httpx.BaseTransport]:
        """The transports by host name, most recently used last (a copy)."""
        with self._lock:
            return dict(self._by_host)

    def pool(self, host: str) -> httpx.BaseTransport:
        """The transport that sends a host name's requests, created on first use.

        Args:
            host: The host name, lower case.

        Returns:
            The transport given to the constructor, or the host's own `httpx.HTTPTransport`.
        """
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
            GuardRefusal: The host resolves to a blocked address that is not allowed.
            httpx.ConnectError: The host name does not resolve.
        """
        name = request.url.raw_host.decode("ascii")
        try:
            addresses = self.guard.resolve(name, request.url.port or 0, shown=request.url.host)
        except GuardRefusal as exc:
            raise GuardRefusal(str(exc), request=request) from None
        except (OSError, UnicodeError) as exc:
            raise httpx.ConnectError(f"could not resolve host {request.url.host}: {exc}", request=request) from exc
        headers = request.headers.copy()  # keeps the original Host header
        extensions = dict(request.extensions)
        if request.url.scheme == "https":
            extensions.setdefault("sni_hostname", request.url.raw_host.decode("ascii"))
        url = request.url.copy_with(host=str(addresses[0].address))
        pinned = httpx.Request(request.method, url, headers=headers, stream=request.stream, extensions=extensions)
        return self.pool(request.url.raw_host.decode("ascii").lower()).handle_request(pinned)

    def close(self) -> None:
        """Close the inner transports."""
        if self._injected is not None:
            self._injected.close()
        with self._lock:
            for inner in self._by_host.values():
                inner.close()
            self._by_host.clear()
