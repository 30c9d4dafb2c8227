"""The sandbox OAuth providers, driven over HTTP like a browser and a client would."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest
from authlib.oauth1 import ClientAuth
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from plughub.sandbox.oauth1_provider import OAuth1Provider
from plughub.sandbox.oauth2_provider import OAuth2Provider

CALLBACK = "http://127.0.0.1:8765/oauth/callback"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts, headers = urlsplit(self.path), dict(self.headers)
        if parts.path == "/api/me":  # a protected resource, as plughub's sandbox will serve
            auth = headers.get("Authorization", "")
            if auth.startswith("Bearer "):
                info = self.server.oauth2.validate_bearer(auth[7:])
            else:
                uri = f"http://{self.headers['Host']}{self.path}"
                info = self.server.oauth1.validate_request(self.command, uri, headers, body)
            result = (200 if info else 401, {"Content-Type": "application/json"}, json.dumps(info).encode())
        else:
            args = (self.command, parts.path, parts.query, headers, body)
            result = self.server.oauth2.handle(*args) or self.server.oauth1.handle(*args) or (404, {}, b"")
        status, out, payload = result
        self.send_response(status)
        for key, value in out.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 resets connections when 20 clients connect at once
    oauth2: OAuth2Provider
    oauth1: OAuth1Provider


@dataclass
class Hub:
    url: str
    oauth2: OAuth2Provider
    oauth1: OAuth1Provider
    http: httpx.Client


@pytest.fixture
def make_hub() -> Iterator[Callable[..., Hub]]:
    servers: list[_Server] = []
    clients: list[httpx.Client] = []

    def make(**oauth2_options: Any) -> Hub:
        server = _Server(("127.0.0.1", 0), _Handler)
        url = f"http://127.0.0.1:{server.server_address[1]}"
        server.oauth2, server.oauth1 = OAuth2Provider(**oauth2_options), OAuth1Provider()
        server.oauth2.issuer = url
        server.oauth2.register_client("app", "app-secret", [CALLBACK], ["read", "write"])
        server.oauth2.register_client(
            "poster", "poster-secret", [CALLBACK], ["read"], token_endpoint_auth_method="client_secret_post"
        )
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        clients.append(httpx.Client(base_url=url, timeout=10))
        return Hub(url, server.oauth2, server.oauth1, clients[-1])

    yield make
    for client in clients:
        client.close()
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def hub(make_hub: Callable[..., Hub]) -> Hub:
    return make_hub(access_token_ttl=600)


class _Form(HTMLParser):
    """The consent form, as a browser sees it."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.action, self.method, self.decisions = "", "", []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form":
            self.action, self.method = values["action"] or "", values["method"] or ""
        if tag == "button" and values.get("name") == "decision":
            self.decisions.append(values["value"])


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def _query(location: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(location).query))


def _browse(hub: Hub, path: str, params: dict[str, str], decision: str) -> httpx.Response:
    """Open the consent page and press a button; returns the redirect."""
    page = hub.http.get(f"{path}?{urlencode(params)}")
    assert page.status_code == 200, page.text
    form = _Form(page.text)
    assert form.method == "post" and form.decisions == ["approve", "deny"]
    assert form.action == f"{path}?{urlsplit(str(page.url)).query}"
    return hub.http.post(form.action, data={"decision": decision})


def _params(pkce: bool = True) -> tuple[dict[str, str], str]:
    verifier, challenge = _pkce()
    params = {
        "response_type": "code",
        "client_id": "app",
        "redirect_uri": CALLBACK,
        "scope": "read write",
        "state": "st-1",
    }
    if pkce:
        params |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    return params, verifier


def _authorize(hub: Hub, decision: str = "approve", pkce: bool = True) -> tuple[dict[str, str], str]:
    params, verifier = _params(pkce)
    response = _browse(hub, "/oauth2/authorize", params, decision)
    assert response.status_code == 302
    assert response.headers["Location"].startswith(CALLBACK + "?")
    return _query(response.headers["Location"]), verifier


def _token(hub: Hub, auth: tuple[str, str] | None = ("app", "app-secret"), **data: str) -> httpx.Response:
    return hub.http.post("/oauth2/token", data=data, auth=auth)


def _code_tokens(hub: Hub) -> dict[str, Any]:
    params, verifier = _authorize(hub)
    response = _token(
        hub, grant_type="authorization_code", code=params["code"], redirect_uri=CALLBACK, code_verifier=verifier
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_authorization_code_flow_with_pkce(hub: Hub) -> None:
    params, verifier = _authorize(hub)
    assert params["state"] == "st-1" and params["iss"] == hub.url and params["code"]
    form = {"grant_type": "authorization_code", "code": params["code"], "redirect_uri": CALLBACK}
    response = _token(hub, **form, code_verifier=verifier)
    assert response.status_code == 200, response.text
    token = response.json()
    assert token["token_type"] == "Bearer" and token["expires_in"] == 600 and token["scope"] == "read write"
    assert token["refresh_token"] and response.headers["Cache-Control"] == "no-store"
    live = hub.oauth2.validate_bearer(token["access_token"])
    assert live is not None and live["expires_at"] > time.time()
    assert {k: live[k] for k in ("client_id", "user", "scope", "resource")} == {
        "client_id": "app",
        "user": "alice",
        "scope": "read write",
        "resource": None,
    }
    me = hub.http.get("/api/me", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert me.status_code == 200 and me.json()["user"] == "alice"
    assert _token(hub, **form, code_verifier=verifier).json()["error"] == "invalid_grant"  # codes are single-use
    assert hub.oauth2.validate_bearer("not-a-token") is None


def test_pkce_is_required_and_checked(hub: Hub) -> None:
    for pkce in ({}, {"code_challenge_method": "plain"}):
        response = hub.http.get("/oauth2/authorize", params={**_params(pkce=False)[0], **pkce})
        params = _query(response.headers["Location"])  # redirect_uri is valid: the error goes back to the client
        assert params == {"error": "invalid_request", "error_description": params["error_description"],
                          "state": "st-1", "iss": hub.url}  # fmt: skip
    params, _ = _authorize(hub)
    form = {"grant_type": "authorization_code", "code": params["code"], "redirect_uri": CALLBACK}
    assert _token(hub, **form).json()["error"] == "invalid_request"  # the verifier is missing
    params, _ = _authorize(hub)
    wrong = _token(hub, **{**form, "code": params["code"]}, code_verifier=_pkce()[0])
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"


def test_pkce_is_optional_when_not_required(make_hub: Callable[..., Hub]) -> None:
    hub = make_hub(require_pkce=False, send_iss=False)
    params, _ = _authorize(hub, pkce=False)
    assert "iss" not in params
    response = _token(hub, grant_type="authorization_code", code=params["code"], redirect_uri=CALLBACK)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "params",
    [
        {"client_id": "nobody", "redirect_uri": CALLBACK},
        {"client_id": "app", "redirect_uri": "http://127.0.0.1:9/evil"},
        {"redirect_uri": CALLBACK},
    ],
)
def test_bad_client_or_redirect_uri_is_an_error_page_never_a_redirect(hub: Hub, params: dict[str, str]) -> None:
    for method in ("GET", "POST"):
        query = urlencode({"response_type": "code", "state": "s", **params})
        response = hub.http.request(method, f"/oauth2/authorize?{query}", data={"decision": "approve"})
        assert response.status_code == 400 and "Location" not in response.headers
        assert response.headers["Content-Type"].startswith("text/html")


def test_client_authentication(hub: Hub) -> None:
    wrong = _token(hub, auth=("app", "nope"), grant_type="client_credentials")
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert "WWW-Authenticate" in wrong.headers
    assert _token(hub, auth=None, grant_type="client_credentials").json()["error"] == "invalid_client"
    posted = {"client_id": "poster", "client_secret": "poster-secret", "grant_type": "client_credentials"}
    assert _token(hub, auth=None, **posted).status_code == 200
    assert _token(hub, auth=None, **{**posted, "client_secret": "x"}).json()["error"] == "invalid_client"
    assert _token(hub, auth=("poster", "poster-secret"), grant_type="client_credentials").status_code == 401
    assert _token(hub, grant_type="password").json()["error"] == "unsupported_grant_type"


def test_deny_redirects_with_access_denied(hub: Hub) -> None:
    params, _ = _authorize(hub, decision="deny")
    assert params.pop("error_description")
    assert params == {"error": "access_denied", "state": "st-1", "iss": hub.url}


def test_refresh_rotates_and_old_refresh_token_fails(hub: Hub) -> None:
    first = _code_tokens(hub)
    second = _token(hub, grant_type="refresh_token", refresh_token=first["refresh_token"]).json()
    assert second["access_token"] != first["access_token"] and second["scope"] == "read write"
    assert second["refresh_token"] not in (None, first["refresh_token"])
    reuse = _token(hub, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"
    narrower = _token(hub, grant_type="refresh_token", refresh_token=second["refresh_token"], scope="read")
    assert narrower.json()["scope"] == "read"
    wider = _token(hub, grant_type="refresh_token", refresh_token=narrower.json()["refresh_token"], scope="admin")
    assert wider.json()["error"] == "invalid_scope"
    assert hub.oauth2.token_requests == {"authorization_code": 1, "refresh_token": 4}


def test_refresh_without_rotation_keeps_the_refresh_token(make_hub: Callable[..., Hub]) -> None:
    hub = make_hub(rotate_refresh_tokens=False)
    first = _code_tokens(hub)
    for _ in range(2):
        again = _token(hub, grant_type="refresh_token", refresh_token=first["refresh_token"]).json()
        assert "refresh_token" not in again and hub.oauth2.validate_bearer(again["access_token"])


def test_client_credentials(hub: Hub) -> None:
    token = _token(hub, grant_type="client_credentials", scope="read admin").json()
    assert token["scope"] == "read" and "refresh_token" not in token
    live = hub.oauth2.validate_bearer(token["access_token"])
    assert live is not None and (live["client_id"], live["user"], live["scope"]) == ("app", None, "read")
    assert _token(hub, grant_type="client_credentials").json()["scope"] == "read write"


def test_revocation(hub: Hub) -> None:
    token = _code_tokens(hub)
    response = hub.http.post("/oauth2/revoke", data={"token": token["access_token"]}, auth=("app", "app-secret"))
    assert response.status_code == 200
    assert hub.oauth2.validate_bearer(token["access_token"]) is None
    assert hub.oauth2.revoked == [token["access_token"]]
    assert hub.http.get("/api/me", headers={"Authorization": f"Bearer {token['access_token']}"}).status_code == 401
    data = {"token": token["refresh_token"], "token_type_hint": "refresh_token"}
    assert hub.http.post("/oauth2/revoke", data=data, auth=("app", "app-secret")).status_code == 200
    assert _token(hub, grant_type="refresh_token", refresh_token=token["refresh_token"]).status_code == 400
    unknown = hub.http.post("/oauth2/revoke", data={"token": "unknown"}, auth=("app", "app-secret"))
    assert unknown.status_code == 200  # RFC 7009 §2.2
    assert hub.http.post("/oauth2/revoke", data={"token": "x"}, auth=("app", "bad")).status_code == 401


def test_expiry_and_mass_revocation_leave_refresh_working(hub: Hub) -> None:
    for break_tokens in (hub.oauth2.expire_access_tokens, hub.oauth2.revoke_all_access_tokens):
        token = _code_tokens(hub)
        assert hub.oauth2.validate_bearer(token["access_token"])
        break_tokens()
        assert hub.oauth2.validate_bearer(token["access_token"]) is None
        fresh = _token(hub, grant_type="refresh_token", refresh_token=token["refresh_token"]).json()
        assert hub.oauth2.validate_bearer(fresh["access_token"])


def test_token_requests_are_counted_exactly_under_concurrency(hub: Hub) -> None:
    tokens: list[str] = []
    barrier = threading.Barrier(20)

    def worker(index: int) -> None:
        barrier.wait()
        with httpx.Client(base_url=hub.url, timeout=10) as http:
            for _ in range(5):
                auth = ("app", "app-secret" if index % 4 else "wrong")
                response = http.post("/oauth2/token", data={"grant_type": "client_credentials"}, auth=auth)
                if response.status_code == 200:
                    tokens.append(response.json()["access_token"])
            http.post("/oauth2/token", data={"grant_type": "refresh_token", "refresh_token": "nope"}, auth=auth)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert hub.oauth2.token_requests == {"client_credentials": 100, "refresh_token": 20}
    assert len(tokens) == 75 == len(set(tokens))


# OAuth 1.0a


def _rsa_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def _signed(hub: Hub, auth: ClientAuth, method: str, path: str, form: dict[str, str] | None = None) -> httpx.Request:
    headers = dict(FORM) if form is not None else {}
    url, headers, body = auth.prepare(method, hub.url + path, headers, urlencode(form) if form is not None else b"")
    return hub.http.build_request(method, url, headers=headers, content=body)


def _oauth1_tokens(hub: Hub, method: str, decision: str = "approve") -> tuple[dict[str, str], dict[str, Any]]:
    private, public = _rsa_pair()
    hub.oauth1.register_client("tw", "tw-secret", CALLBACK, rsa_public_key=public)
    keys: dict[str, Any] = {"client_id": "tw", "signature_method": method}
    keys |= {"rsa_key": private} if method == "RSA-SHA1" else {"client_secret": "tw-secret"}
    request = _signed(hub, ClientAuth(**keys, redirect_uri=f"{CALLBACK}?state=abc"), "POST", "/oauth1/request_token")
    response = hub.http.send(request)
    assert response.status_code == 200, response.text
    temporary = dict(parse_qsl(response.text))
    assert temporary["oauth_callback_confirmed"] == "true"
    redirect = _browse(hub, "/oauth1/authorize", {"oauth_token": temporary["oauth_token"]}, decision)
    assert redirect.status_code == 302 and redirect.headers["Location"].startswith(CALLBACK + "?state=abc&")
    return temporary | _query(redirect.headers["Location"]), keys


@pytest.mark.parametrize("method", ["HMAC-SHA1", "PLAINTEXT", "RSA-SHA1"])
def test_oauth1_flow_and_signed_requests(hub: Hub, method: str) -> None:
    temporary, keys = _oauth1_tokens(hub, method)
    assert temporary["state"] == "abc" and temporary["oauth_verifier"]
    grant = {"token": temporary["oauth_token"], "token_secret": temporary["oauth_token_secret"]}
    auth = ClientAuth(**keys, **grant, verifier=temporary["oauth_verifier"])
    response = hub.http.send(_signed(hub, auth, "POST", "/oauth1/access_token"))
    assert response.status_code == 200, response.text
    token = dict(parse_qsl(response.text))
    assert hub.oauth1.token_requests == 1
    assert hub.http.send(_signed(hub, auth, "POST", "/oauth1/access_token")).status_code == 401  # spent

    auth = ClientAuth(**keys, token=token["oauth_token"], token_secret=token["oauth_token_secret"])
    me = hub.http.send(_signed(hub, auth, "GET", "/api/me?q=hello%20world&n=1"))
    assert me.status_code == 200 and me.json() == {"client_id": "tw", "user": "alice"}
    posted = _signed(hub, auth, "POST", "/api/me?x=1", form={"text": "a note", "tags": "x y"})
    assert posted.headers["Authorization"].startswith("OAuth ")
    assert hub.http.send(posted).status_code == 200
    assert hub.http.send(posted).status_code == 401  # a replay: the nonce was seen

    def check(request: httpx.Request, uri: str | None = None, body: bytes | None = None) -> dict[str, Any] | None:
        content = request.content if body is None else body
        return hub.oauth1.validate_request(request.method, uri or str(request.url), dict(request.headers), content)

    assert check(_signed(hub, auth, "POST", "/api/me", form={"text": "a note"})) == me.json()
    assert check(_signed(hub, auth, "GET", "/api/me?q=1")) == me.json()
    tampered_body = check(_signed(hub, auth, "POST", "/api/me", form={"text": "a note"}), body=b"text=another")
    tampered_query = check(_signed(hub, auth, "GET", "/api/me?q=1"), uri=f"{hub.url}/api/me?q=2")
    if method == "PLAINTEXT":  # PLAINTEXT signs no request content, only the secrets (RFC 5849 §3.4.4)
        assert tampered_body and tampered_query
    else:
        assert tampered_body is None and tampered_query is None
    stranger = ClientAuth("tw", "tw-secret", token="made-up", token_secret="x")
    assert hub.http.send(_signed(hub, stranger, "GET", "/api/me")).status_code == 401


def test_oauth1_deny_keeps_the_callback_query(hub: Hub) -> None:
    temporary, keys = _oauth1_tokens(hub, "HMAC-SHA1", decision="deny")
    assert temporary["denied"] == temporary["oauth_token"] and temporary["error"] == "access_denied"
    assert temporary["state"] == "abc" and "oauth_verifier" not in temporary
    grant = {"token": temporary["oauth_token"], "token_secret": temporary["oauth_token_secret"], "verifier": "guess"}
    assert hub.http.send(_signed(hub, ClientAuth(**keys, **grant), "POST", "/oauth1/access_token")).status_code == 401
    page = hub.http.get("/oauth1/authorize", params={"oauth_token": temporary["oauth_token"]})
    assert page.status_code == 400  # the temporary credential is spent


def test_oauth1_rejects_bad_requests(hub: Hub) -> None:
    hub.oauth1.register_client("tw", "tw-secret", CALLBACK)
    wrong = ClientAuth("tw", "not-the-secret", redirect_uri=CALLBACK)
    assert hub.http.send(_signed(hub, wrong, "POST", "/oauth1/request_token")).status_code == 401
    rsa_less = ClientAuth("tw", signature_method="RSA-SHA1", rsa_key=_rsa_pair()[0], redirect_uri=CALLBACK)
    assert hub.http.send(_signed(hub, rsa_less, "POST", "/oauth1/request_token")).status_code == 401
    assert hub.http.get("/oauth1/request_token").status_code == 405
    assert hub.http.get("/oauth1/authorize", params={"oauth_token": "nope"}).status_code == 400
    verifier_less = ClientAuth("tw", "tw-secret", token="nope", token_secret="x", verifier="v")
    assert hub.http.send(_signed(hub, verifier_less, "POST", "/oauth1/access_token")).status_code == 401
    assert hub.http.get("/oauth1/elsewhere").status_code == 404
    assert hub.oauth1.validate_request("GET", hub.url + "/api/me", {"Authorization": "Bearer x"}, b"") is None


def test_oauth1_signature_methods_can_be_restricted() -> None:
    provider = OAuth1Provider(signature_methods=("HMAC-SHA1",))
    provider.register_client("tw", "tw-secret", CALLBACK)
    for method, expected in (("PLAINTEXT", 400), ("HMAC-SHA1", 200)):
        auth = ClientAuth("tw", "tw-secret", redirect_uri=CALLBACK, signature_method=method)
        _, headers, _ = auth.prepare("POST", "http://127.0.0.1:9/oauth1/request_token", {"Host": "127.0.0.1:9"}, b"")
        result = provider.handle("POST", "/oauth1/request_token", "", headers, b"")
        assert result is not None and result[0] == expected, result
    assert provider.handle("GET", "/elsewhere", "", {}, b"") is None
