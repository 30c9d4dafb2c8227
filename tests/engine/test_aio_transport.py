"""The server's asynchronous transport (aiohttp): the guard, failures, and parity with `send`.

Network rule as in test_netguard: only loopback connects, host names answered by a fake resolver.
"""

from __future__ import annotations

import asyncio
import gzip
import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from plughub.engine.auth.static import Placement, StaticAuth
from plughub.engine.http.aio import AsyncTransport
from plughub.engine.http.guard import ALLOWLIST_ENV, Guard, GuardRefusal, parse_allowlist
from plughub.engine.http.send import RetryPolicy, Sender
from plughub.engine.redact import Redactor
from plughub.enums import ResponseStatus
from plughub.schemas import ActionResult
from tests.engine.conftest import FakeDNS
from tests.upstream import Reply, Seen, Upstream

pytestmark = pytest.mark.usefixtures("loopback_only")

SECRET = "canary-aio-secret"


def _executor(allow: str | None = "127.0.0.0/8", *, guard: bool = True, **kwargs: Any) -> Sender:
    return Sender(
        retry=RetryPolicy(attempts=3, base_wait=0),
        trust_env=False,
        asynchronous=True,
        guard=Guard(parse_allowlist(allow)) if guard else None,
        **kwargs,
    )


def _send_async(executor: Sender, request: httpx.Request, auth: httpx.Auth | None = None) -> ActionResult:
    async def go() -> ActionResult:
        try:
            return await executor.send_async("Echo ECHO_PING", request, auth, Redactor([SECRET]))
        finally:
            await executor.aclose()

    return asyncio.run(go())


def _port(upstream: Upstream) -> int:
    return int(upstream.url.rsplit(":", 1)[1])


# -- the guard -----------------------------------------------------------------------------------


def test_an_address_in_the_url_is_checked_before_anything_is_sent(upstream: Upstream) -> None:
    result = _send_async(_executor(None), httpx.Request("GET", f"{upstream.url}/ping", params={"key": SECRET}))
    assert result.status is ResponseStatus.FAILED
    assert result.error_code == "outbound_blocked"
    assert result.error_message is not None
    assert ALLOWLIST_ENV in result.error_message
    assert "the host 127.0.0.1 is not allowed" in result.error_message
    assert SECRET not in result.error_message
    assert result.details == {"host": "127.0.0.1"}
    assert upstream.seen == []


@pytest.mark.parametrize("address", ["10.0.0.1", "169.254.169.254", "fd00:ec2::254", "::1", "127.0.0.1"])
def test_a_name_resolving_to_a_blocked_address_is_refused(
    dns: FakeDNS, address: str, caplog: pytest.LogCaptureFixture
) -> None:
    dns.set("internal.test", [address])
    result = _send_async(_executor("192.168.0.0/16"), httpx.Request("GET", "http://internal.test/x?token=q"))
    assert result.error_code == "outbound_blocked"
    assert result.error_message is not None
    assert "the host internal.test is not allowed" in result.error_message
    assert address not in result.error_message  # the operator's log has it
    assert f"internal.test: it resolves to {address}" in caplog.text
    assert "token" not in result.error_message
    assert dns.calls == ["internal.test"]  # a refusal is final: GET is not retried


@pytest.mark.parametrize("order", [["93.184.216.34", "10.0.0.1"], ["10.0.0.1", "93.184.216.34"]])
def test_a_name_with_one_private_address_is_refused(dns: FakeDNS, order: list[str]) -> None:
    dns.set("mixed.test", order)
    result = _send_async(_executor(None), httpx.Request("GET", "http://mixed.test/"))
    assert result.error_code == "outbound_blocked"
    assert "the host mixed.test is not allowed" in (result.error_message or "")


@pytest.mark.parametrize("allow", ["127.0.0.0/8", "127.0.0.1", "*"])
def test_an_allowed_network_is_reached(upstream: Upstream, allow: str) -> None:
    upstream.route("GET", "/ping", Reply(200, {"pong": True}))
    result = _send_async(_executor(allow), httpx.Request("GET", f"{upstream.url}/ping"))
    assert result.status is ResponseStatus.SUCCESS, result
    assert result.data == {"pong": True}
    assert upstream.seen[0].header("Host") == f"127.0.0.1:{_port(upstream)}"


def test_an_allowed_host_name_is_reached_and_its_address_is_not(upstream: Upstream, dns: FakeDNS) -> None:
    upstream.route("GET", "/ping", Reply(200, {"pong": True}))
    dns.set("localhost", ["127.0.0.1"])
    port = _port(upstream)
    by_name = _send_async(_executor("LocalHost"), httpx.Request("GET", f"http://localhost:{port}/ping"))
    assert by_name.data == {"pong": True}
    assert upstream.seen[0].header("Host") == f"localhost:{port}"
    by_address = _send_async(_executor("LocalHost"), httpx.Request("GET", f"http://127.0.0.1:{port}/ping"))
    assert by_address.error_code == "outbound_blocked"
    assert len(upstream.seen) == 1


def test_a_redirect_to_a_refused_host_is_blocked_at_the_second_hop(upstream: Upstream, dns: FakeDNS) -> None:
    upstream.route("GET", "/start", Reply(302, "", headers={"Location": "/next"}))
    upstream.route("GET", "/next", Reply(302, "", headers={"Location": "http://metadata.test/latest?t=q"}))
    dns.set("metadata.test", ["169.254.169.254"])
    result = _send_async(_executor(), httpx.Request("GET", f"{upstream.url}/start"))
    # Another host is never followed; the guard would refuse it anyway.
    assert result.error_code == "upstream_redirect"
    assert [s.path for s in upstream.seen] == ["/start", "/next"]
    assert dns.calls == []


def test_an_unresolvable_name_is_unreachable(dns: FakeDNS) -> None:
    result = _send_async(_executor(), httpx.Request("GET", "http://nowhere.test/?q=canary-q"))
    assert result.error_code == "upstream_unreachable"
    assert (result.error_message or "").startswith("Echo ECHO_PING: could not reach nowhere.test: ")
    assert "canary-q" not in (result.error_message or "")


# -- failures ------------------------------------------------------------------------------------


def test_a_refused_connection_is_unreachable_after_the_retries(upstream: Upstream) -> None:
    port = _port(upstream)
    upstream.close()  # nothing listens there any more
    result = _send_async(_executor(), httpx.Request("GET", f"http://127.0.0.1:{port}/ping"))
    assert result.error_code == "upstream_unreachable"
    assert result.error_message is not None
    assert result.error_message.startswith("Echo ECHO_PING: could not reach 127.0.0.1: ")
    assert "refused" in result.error_message.lower() or "failed" in result.error_message.lower()


def test_a_slow_answer_times_out(upstream: Upstream) -> None:
    upstream.route("POST", "/slow", Reply(200, {"late": True}, delay=1.0))
    executor = _executor(read_timeout=0.2)
    result = _send_async(executor, httpx.Request("POST", f"{upstream.url}/slow", json={}))
    assert result.error_code == "upstream_unreachable"
    assert result.error_message == (
        "Echo ECHO_PING: 127.0.0.1 accepted the connection but did not answer within 0.2 s (the read timeout)"
    )


# -- parity with the synchronous path ------------------------------------------------------------


def _gzipped(_seen: Seen) -> Reply:
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    return Reply(200, gzip.compress(b'{"zipped": true}'), headers)


def _echo(seen: Seen) -> Reply:
    echoed = {"path": seen.path, "query": seen.query, "body": seen.body.decode()}
    return Reply(200, {**echoed, "x_case": seen.header("X-MiXeD-Case")})


SCENARIOS: dict[str, tuple[str, str, Any]] = {
    "json": ("GET", "/json", Reply(200, {"ok": True, "n": [1, 2]})),
    "text": ("GET", "/text", Reply(200, "plain pong")),
    "gzip": ("GET", "/gzip", _gzipped),
    "status with a secret": ("GET", "/denied", Reply(403, {"message": f"bad key {SECRET}"})),
    "secret in a success": ("GET", "/leak", Reply(200, {"echo": SECRET})),
    "retry after": ("GET", "/busy", Reply(429, {"slow": "down"}, {"Retry-After": "120"})),
    "same-origin redirect": ("GET", "/old", Reply(301, "", {"Location": "/json"})),
    "echo": ("POST", "/echo/a%2Fb", _echo),
    "empty": ("DELETE", "/gone", Reply(204, "")),
    "latin-1 error": (
        "GET",
        "/refused",
        Reply(400, "d\u00e9j\u00e0 vu".encode("latin-1"), {"Content-Type": "text/plain; charset=iso-8859-1"}),
    ),
    "json with a charset": (
        "GET",
        "/cs",
        Reply(200, b'{"caf\xc3\xa9": 1}', {"Content-Type": "application/json; charset=utf-8"}),
    ),
    "not json though it says so": ("GET", "/bad", Reply(200, b"<html>", {"Content-Type": "application/json"})),
}


def _bearer() -> httpx.Auth:
    return StaticAuth([Placement("header", "Authorization", f"Bearer {SECRET}")])


@pytest.mark.parametrize("credentials", [False, True], ids=["no auth", "bearer"])
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_send_async_answers_as_send_does(upstream: Upstream, name: str, credentials: bool) -> None:
    method, path, reply = SCENARIOS[name]
    upstream.route(method, path, reply)
    if name == "same-origin redirect":
        upstream.route("GET", "/json", SCENARIOS["json"][2])

    def request() -> httpx.Request:
        return httpx.Request(
            method,
            f"{upstream.url}{path}?q=a%2Fb&sp=x+y&e=%C3%A9",
            headers={"X-MiXeD-Case": "kept", "Content-Type": "application/json"},
            content=json.dumps({"in": SECRET}).encode() if method == "POST" else None,
        )

    synchronous = _executor()  # its allowlist guards only `send_async`: compare over the plain transport
    try:
        expected = synchronous.send("Echo ECHO_PING", request(), _bearer() if credentials else None, Redactor([SECRET]))
    finally:
        synchronous.close()
    sync_seen, upstream.seen[:] = list(upstream.seen), []
    got = _send_async(_executor(), request(), _bearer() if credentials else None)
    assert got.model_dump(exclude={"run_time"}) == expected.model_dump(exclude={"run_time"})
    assert [(s.method, s.path, s.query, s.body, s.header("Authorization")) for s in upstream.seen] == [
        (s.method, s.path, s.query, s.body, s.header("Authorization")) for s in sync_seen
    ]
    assert all(s.header("Authorization") == (f"Bearer {SECRET}" if credentials else None) for s in sync_seen)
    assert SECRET not in json.dumps(got.model_dump(mode="json"))


def test_requests_sharing_a_url_object_each_go_where_their_own_url_says(upstream: Upstream) -> None:
    """The transport remembers the URL it made of an `httpx.URL` object; a query placement's new URL is not it."""
    upstream.route("GET", "/echo/a%2Fb", _echo)
    shared = httpx.URL(f"{upstream.url}/echo/a%2Fb?q=1")
    in_query = StaticAuth([Placement("query", "key", SECRET)])
    executor = _executor()

    async def go() -> list[ActionResult]:
        try:
            return [
                await executor.send_async("Echo", httpx.Request("GET", shared), None, Redactor([SECRET])),
                await executor.send_async("Echo", httpx.Request("GET", shared), in_query, Redactor([SECRET])),
                await executor.send_async("Echo", httpx.Request("GET", shared), None, Redactor([SECRET])),
            ]
        finally:
            await executor.aclose()

    results = asyncio.run(go())
    assert [r.status for r in results] == [ResponseStatus.SUCCESS] * 3
    assert [(s.path, s.query) for s in upstream.seen] == [
        ("/echo/a%2Fb", [("q", "1")]),
        ("/echo/a%2Fb", [("q", "1"), ("key", SECRET)]),
        ("/echo/a%2Fb", [("q", "1")]),
    ]


@pytest.mark.parametrize("agent", [None, "acme-agent/1"])
def test_aiohttp_never_sends_its_own_user_agent(upstream: Upstream, agent: str | None) -> None:
    """Only plughub's User-Agent (or the caller's) goes out; a request without one goes without one."""
    upstream.route("GET", "/json", Reply(200, {"ok": True}))
    upstream.route("POST", "/hook", Reply(204))
    transport = AsyncTransport(connect_timeout=5, read_timeout=5, trust_env=False)
    headers = {"User-Agent": agent} if agent else {}

    async def go() -> None:
        try:
            await transport.send(httpx.Request("GET", f"{upstream.url}/json", headers=headers))
            await transport.post(f"{upstream.url}/hook", b"{}", headers, timeout=5)
        finally:
            await transport.aclose()

    asyncio.run(go())
    assert [s.header("User-Agent") for s in upstream.seen] == [agent, agent]
    assert all(s.header("Accept-Encoding") for s in upstream.seen[:1])


# -- TLS -----------------------------------------------------------------------------------------


@pytest.fixture
def https_upstream(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An HTTPS server on 127.0.0.1 with a self-signed certificate; yields (URL, certificate file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "plughub test")])
    now = datetime.now(timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            body = b'{"tls": true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", cert_file
    finally:
        server.shutdown()
        server.server_close()


def test_certificates_are_verified(https_upstream: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    url, cert_file = https_upstream
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    refused = _send_async(_executor(guard=False), httpx.Request("GET", f"{url}/x"))
    assert refused.error_code == "upstream_unreachable"
    assert "certificate" in (refused.error_message or "").lower()
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))  # the CA store httpx reads, as on the sync path
    trusted = _send_async(Sender(asynchronous=True, trust_env=True), httpx.Request("GET", f"{url}/x"))
    assert trusted.status is ResponseStatus.SUCCESS, trusted
    assert trusted.data == {"tls": True}


# -- post: the event deliveries' lean call -------------------------------------------------------


def _post(transport: AsyncTransport, url: str, *, timeout: float = 5.0) -> int:
    async def go() -> int:
        try:
            return await transport.post(url, b'{"id":"evt_1"}', {"content-type": "application/json"}, timeout=timeout)
        finally:
            await transport.aclose()

    return asyncio.run(go())


def _transport(allow: str | None) -> AsyncTransport:
    return AsyncTransport(connect_timeout=5, read_timeout=5, guard=Guard(parse_allowlist(allow)), trust_env=False)


def test_post_gives_the_status_and_sends_the_body_and_headers(upstream: Upstream) -> None:
    upstream.route("POST", "/hook", Reply(202, {"queued": True}))
    assert _post(_transport("127.0.0.1"), f"{upstream.url}/hook?x=1") == 202
    (seen,) = upstream.seen
    assert (seen.path, seen.query, seen.body) == ("/hook", [("x", "1")], b'{"id":"evt_1"}')
    assert seen.header("content-type") == "application/json"


def test_post_asks_the_guard_first(upstream: Upstream, dns: FakeDNS) -> None:
    with pytest.raises(GuardRefusal, match="the host 127.0.0.1 is not allowed"):
        _post(_transport(None), f"{upstream.url}/hook")
    dns.set("internal.test", ["10.0.0.1"])
    with pytest.raises(GuardRefusal, match="the host internal.test is not allowed"):
        _post(_transport(None), "http://internal.test/hook")
    assert upstream.seen == []


def test_post_errors_are_httpx_errors(upstream: Upstream) -> None:
    upstream.route("POST", "/slow", Reply(200, {}, delay=1.0))
    with pytest.raises(httpx.ReadTimeout):
        _post(_transport("127.0.0.1"), f"{upstream.url}/slow", timeout=0.2)  # the whole exchange is bounded
    port = _port(upstream)
    upstream.close()
    with pytest.raises(httpx.ConnectError):
        _post(_transport("127.0.0.1"), f"http://127.0.0.1:{port}/hook")
