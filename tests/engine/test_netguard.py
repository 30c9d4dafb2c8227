"""The outbound network guard: address classes, allowlist, pinning against DNS rebinding, redirects.

Network rule for this file: nothing may leave the machine. The classifier is tested on addresses
directly; the transport only ever connects to the loopback `upstream`, host names are answered by
a fake resolver, and an autouse guard fails any socket connect to a non-loopback address.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import httpx
import pytest

from plughub.engine.http.guard import (
    ALLOWLIST_ENV,
    Guard,
    GuardedTransport,
    GuardRefusal,
    is_blocked_address,
    parse_allowlist,
)
from plughub.engine.http.send import RetryPolicy, Sender
from plughub.engine.redact import Redactor
from plughub.enums import ResponseStatus
from plughub.exceptions import ConfigurationError
from tests.engine.conftest import FakeDNS
from tests.upstream import Reply, Upstream

pytestmark = pytest.mark.usefixtures("loopback_only")


class Recorder(httpx.BaseTransport):
    """Records what the guard hands on; forwards to `inner` or answers 200 itself (no network)."""

    def __init__(self, inner: httpx.BaseTransport | None = None) -> None:
        self.inner = inner
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.inner is None:
            return httpx.Response(200, text="recorded")
        return self.inner.handle_request(request)

    def close(self) -> None:
        if self.inner is not None:
            self.inner.close()


class Forbidden(httpx.BaseTransport):
    """An inner transport that must never be reached."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        pytest.fail(f"the guard let a request through to {request.url.host}")


def _client(allow: str | None, inner: httpx.BaseTransport, **kwargs: Any) -> httpx.Client:
    return httpx.Client(transport=GuardedTransport(Guard(parse_allowlist(allow)), transport=inner), **kwargs)


def _port(upstream: Upstream) -> int:
    port = httpx.URL(upstream.url).port
    assert port is not None
    return port


# -- the classifier ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1", "100.100.100.200",
        "127.0.0.1", "127.8.9.10", "0.0.0.0", "0.1.2.3", "224.0.0.1", "239.255.255.250", "255.255.255.255",  # noqa: S104
        "240.0.0.1", "192.0.2.1", "198.18.0.1", "::", "::1", "::ffff:10.0.0.1", "::ffff:127.0.0.1",
        "::ffff:169.254.169.254", "::10.0.0.1", "64:ff9b::a00:1", "2002:a00:1::1", "2002:7f00:1::",
        "fe80::1", "fe80::1%eth0", "fc00::1", "fd12:3456::1", "fd00:ec2::254", "ff02::1", "2001:db8::1",
    ],
)  # fmt: skip
def test_blocked_addresses(address: str) -> None:
    assert is_blocked_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "1.1.1.1", "93.184.216.34", "100.63.255.255", "100.128.0.1", "172.32.0.1", "2606:4700::1111",
     "2a00:1450:4001:80b::200e", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"],
)  # fmt: skip
def test_public_addresses_are_not_blocked(address: str) -> None:
    assert not is_blocked_address(ipaddress.ip_address(address))


# -- the allowlist -------------------------------------------------------------------------------


def test_parse_allowlist_reads_networks_hosts_and_star() -> None:
    allow = parse_allowlist(" 127.0.0.0/8, ::1/128,10.1.2.3 , LocalHost, sandbox.internal., ,")
    assert [str(n) for n in allow.networks] == ["127.0.0.0/8", "::1/128", "10.1.2.3/32"]
    assert allow.hosts == frozenset({"localhost", "sandbox.internal"})
    assert not allow.allow_all
    assert allow.allows("SANDBOX.Internal", ipaddress.ip_address("10.9.9.9"))
    assert allow.allows("x.test", ipaddress.ip_address("::ffff:127.0.0.1"))
    assert not allow.allows("x.test", ipaddress.ip_address("10.1.2.4"))
    assert parse_allowlist("*").allow_all
    for empty in (None, "", " , "):
        assert parse_allowlist(empty) == parse_allowlist(None)
        assert not parse_allowlist(empty).allows("localhost", ipaddress.ip_address("127.0.0.1"))


@pytest.mark.parametrize("entry", ["10.0.0.0/33", "10.1.2.3/8", "999.1.1.1", "http://x", "a..b", "*.corp", "-x", "."])
def test_parse_allowlist_rejects_invalid_entries(entry: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        parse_allowlist(f"127.0.0.0/8,{entry}")
    assert repr(entry) in str(info.value)
    assert ALLOWLIST_ENV in str(info.value)
    assert ALLOWLIST_ENV == "PLUGHUB_ALLOW_PRIVATE_NETWORKS"


# -- the transport -------------------------------------------------------------------------------


def test_loopback_is_blocked_by_default(upstream: Upstream) -> None:
    with _client(None, Forbidden()) as client, pytest.raises(GuardRefusal) as info:
        client.get(f"{upstream.url}/ping?api_key=canary-query-secret")
    message = str(info.value)
    assert ALLOWLIST_ENV in message
    assert "127.0.0.1" in message
    assert "canary-query-secret" not in message
    assert "api_key" not in message
    assert "?" not in message
    assert isinstance(info.value, httpx.ConnectError)
    assert upstream.seen == []


@pytest.mark.parametrize("allow", ["127.0.0.0/8", "127.0.0.1", "*", "10.0.0.0/8, 127.0.0.0/8"])
def test_loopback_allowed_by_network(upstream: Upstream, allow: str) -> None:
    upstream.route("GET", "/ping", Reply(200, {"pong": True}))
    with _client(allow, httpx.HTTPTransport()) as client:
        response = client.get(f"{upstream.url}/ping")
    assert response.json() == {"pong": True}
    assert upstream.seen[0].header("Host") == f"127.0.0.1:{_port(upstream)}"


def test_loopback_allowed_by_host_name(upstream: Upstream, dns: FakeDNS) -> None:
    upstream.route("GET", "/ping", Reply(200, {"pong": True}))
    dns.set("localhost", ["127.0.0.1"])
    port = _port(upstream)
    with _client("LocalHost", httpx.HTTPTransport()) as client:
        assert client.get(f"http://localhost:{port}/ping").json() == {"pong": True}
        with pytest.raises(GuardRefusal):  # the name is allowed, not the address
            client.get(f"http://127.0.0.1:{port}/ping")
    assert upstream.seen[0].header("Host") == f"localhost:{port}"
    assert len(upstream.seen) == 1


@pytest.mark.parametrize("address", ["10.0.0.1", "169.254.169.254", "100.100.100.200", "fd00:ec2::254", "::1"])
def test_name_resolving_to_blocked_address_is_refused_before_connecting(
    dns: FakeDNS, address: str, caplog: pytest.LogCaptureFixture
) -> None:
    dns.set("internal.test", [address])
    with _client("192.168.0.0/16, other.test", Forbidden()) as client, pytest.raises(GuardRefusal) as info:
        client.get("http://user:pw@internal.test/latest?token=canary-q")
    message = str(info.value)
    assert "the host internal.test is not allowed" in message
    assert ALLOWLIST_ENV in message
    # What the name resolves to is for the operator's log only, not for the caller.
    assert address not in message
    assert "resolves" not in message
    logged = [r.getMessage() for r in caplog.records if r.name == "plughub.netguard"]
    assert len(logged) == 1 and f"internal.test: it resolves to {address}" in logged[0]
    for secret in ("canary-q", "token", "pw"):
        assert secret not in message
        assert secret not in logged[0]


@pytest.mark.parametrize("order", [["93.184.216.34", "10.0.0.1"], ["10.0.0.1", "93.184.216.34"]])
def test_name_resolving_to_public_and_private_is_refused(dns: FakeDNS, order: list[str]) -> None:
    dns.set("mixed.test", order)
    with _client(None, Forbidden()) as client, pytest.raises(GuardRefusal, match="the host mixed.test is not"):
        client.get("https://mixed.test/")


def test_star_allows_everything_and_still_pins(dns: FakeDNS) -> None:
    dns.set("internal.test", ["10.0.0.1"])
    recorder = Recorder()  # answers itself: nothing is sent to 10.0.0.1
    with _client("*", recorder) as client:
        assert client.get("http://internal.test:8080/x").text == "recorded"
    assert recorder.requests[0].url.host == "10.0.0.1"
    assert recorder.requests[0].headers["Host"] == "internal.test:8080"


def test_https_is_pinned_with_sni_and_host_header(dns: FakeDNS) -> None:
    dns.set("api.example.test", ["93.184.216.34", "2606:4700::1111"])
    dns.set("v6.example.test", ["2606:4700::1111"])
    recorder = Recorder()
    with _client(None, recorder) as client:
        response = client.get("https://api.example.test/v1/items?page=2")
        client.get("https://v6.example.test:8443/")
    first, second = recorder.requests
    assert str(first.url) == "https://93.184.216.34/v1/items?page=2"
    assert first.headers["Host"] == "api.example.test"
    assert first.extensions["sni_hostname"] == "api.example.test"
    assert str(second.url) == "https://[2606:4700::1111]:8443/"
    assert second.headers["Host"] == "v6.example.test:8443"
    assert second.extensions["sni_hostname"] == "v6.example.test"
    # What the caller sees keeps the name, so redirects and logs use it.
    assert response.request.url.host == "api.example.test"


def test_dns_rebinding_goes_to_the_pinned_address(upstream: Upstream, dns: FakeDNS) -> None:
    upstream.route("GET", "/ping", Reply(200, {"pong": True}))
    dns.set("rebind.test", ["127.0.0.1"], ["10.0.0.1"])  # permitted first, blocked on any later lookup
    port = _port(upstream)
    recorder = Recorder(httpx.HTTPTransport())
    with _client("127.0.0.0/8", recorder) as client:
        assert client.get(f"http://rebind.test:{port}/ping").json() == {"pong": True}
        assert dns.calls.count("rebind.test") == 1  # nothing looked the name up again to connect
        with pytest.raises(GuardRefusal, match="rebind.test is not allowed"):  # the next lookup's answer
            client.get(f"http://rebind.test:{port}/ping")
    assert [str(r.url) for r in recorder.requests] == [f"http://127.0.0.1:{port}/ping"]
    assert recorder.requests[0].headers["Host"] == f"rebind.test:{port}"
    assert len(upstream.seen) == 1
    assert upstream.seen[0].header("Host") == f"rebind.test:{port}"


def test_redirect_to_a_refused_host_is_blocked_at_the_second_hop(
    upstream: Upstream, dns: FakeDNS, caplog: pytest.LogCaptureFixture
) -> None:
    location = "http://metadata.test/latest/meta-data/iam?token=canary-redirect"
    upstream.route("GET", "/start", Reply(302, "", headers={"Location": location}))
    dns.set("metadata.test", ["169.254.169.254"])
    recorder = Recorder(httpx.HTTPTransport())
    with _client("127.0.0.0/8", recorder, follow_redirects=True) as client, pytest.raises(GuardRefusal) as info:
        client.get(f"{upstream.url}/start")
    assert [r.url.host for r in recorder.requests] == ["127.0.0.1"]  # the first hop went out, not the second
    assert [s.path for s in upstream.seen] == ["/start"]
    assert info.value.request.url.host == "metadata.test"
    message = str(info.value)
    assert "metadata.test" in message
    assert "169.254.169.254" not in message
    assert "metadata.test: it resolves to 169.254.169.254" in caplog.text
    assert "canary-redirect" not in message


def test_unresolvable_name_is_a_connect_error(dns: FakeDNS) -> None:
    with _client(None, Forbidden()) as client, pytest.raises(httpx.ConnectError) as info:
        client.get("http://nowhere.test/?q=canary-q")
    assert not isinstance(info.value, GuardRefusal)
    assert "could not resolve host nowhere.test" in str(info.value)
    assert "canary-q" not in str(info.value)


def test_executor_reports_a_refusal_without_retrying(upstream: Upstream, dns: FakeDNS) -> None:
    executor = Sender(retry=RetryPolicy(attempts=3, base_wait=0), transport=GuardedTransport(transport=Forbidden()))
    try:
        request = httpx.Request("GET", f"{upstream.url}/ping", params={"appid": "canary-appid"})
        result = executor.send("Echo ECHO_PING", request, None, Redactor(["canary-appid"]))
    finally:
        executor.close()
    assert result.status == ResponseStatus.FAILED
    assert result.error_code == "outbound_blocked"
    assert result.error_message is not None
    assert ALLOWLIST_ENV in result.error_message
    assert "canary-appid" not in result.error_message
    assert dns.calls.count("127.0.0.1") == 1  # a refusal is final: GET is not retried
    assert upstream.seen == []


def test_default_inner_transport_takes_client_options() -> None:
    limits = httpx.Limits(max_connections=3)
    with GuardedTransport(limits=limits, verify=False) as transport:
        assert isinstance(transport.pool("example.test"), httpx.HTTPTransport)


def test_guard_fixture_refuses_non_loopback_connects() -> None:
    with socket.socket() as sock, pytest.raises(pytest.fail.Exception):
        sock.connect(("192.0.2.1", 9))  # TEST-NET-1: the fixture stops it before any packet


def test_each_host_name_gets_its_own_pool(upstream: Upstream, dns: FakeDNS) -> None:
    # Two names on one address: a connection (TLS-verified for one name) is never reused for the other.
    port = int(upstream.url.rsplit(":", 1)[1])
    upstream.route("GET", "/ping", Reply(200, {"ok": True}))
    dns.set("one.test", ["127.0.0.1"])
    dns.set("two.test", ["127.0.0.1"])
    guard = GuardedTransport(Guard(parse_allowlist("127.0.0.0/8")))
    with httpx.Client(transport=guard) as client:
        assert client.get(f"http://one.test:{port}/ping").json() == {"ok": True}
        assert client.get(f"http://two.test:{port}/ping").json() == {"ok": True}
        assert client.get(f"http://ONE.test:{port}/ping").status_code == 200
        pools = guard.pools
    assert set(pools) == {"one.test", "two.test"}
    assert pools["one.test"] is not pools["two.test"]
    assert [s.header("Host").lower() for s in upstream.seen] == [f"{n}.test:{port}" for n in ("one", "two", "one")]
    assert guard.pools == {}  # closed with the client
