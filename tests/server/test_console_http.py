"""The console over plain HTTP (Starlette's TestClient): sessions, cookies, CSRF, tenancy, escaping, headers.

The browser tests (test_console_browser.py) drive the same pages in Chromium; these pin what a
browser does not show: cookie flags, headers on every page, refusals and what they leave stored.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from plughub.config import Settings
from plughub.engine import Engine
from plughub.engine.store import RunRecord, utcnow
from plughub.exceptions import ActionError, SubscriptionNotFound
from plughub.sandbox import SandboxServer, give_consent
from plughub.schemas import ConnectRequest, SubscribeRequest
from plughub.server import create_app
from plughub.server.templating import CONTENT_SECURITY_POLICY
from tests.conftest import CANARY_API_KEY
from tests.events.test_events_engine import POLLING, wait_for
from tests.upstream import Reply, Upstream

PAGES = [
    "/console/integrations",
    "/console/integrations/sandbox",
    "/console/connections",
    "/console/runs",
    "/console/subscriptions",
    "/console/oauth-apps",
    "/console/keys",
    "/console/connect-links",
]
SCRIPT = "<script>alert(1)</script>"


@dataclass
class Console:
    engine: Engine
    app: Any
    team_id: str
    key: str
    key_id: str

    def client(self, base_url: str = "http://127.0.0.1") -> TestClient:
        return TestClient(self.app, base_url=base_url, follow_redirects=False)

    def signed_in(self, client: TestClient | None = None, key: str | None = None) -> TestClient:
        client = client or self.client()
        form = client.get("/console/sign-in")
        answer = client.post("/console/sign-in", data={"api_key": key or self.key, "csrf_token": csrf_of(form.text)})
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == "/console/connections"
        return client

    def connect(self, team: str | None = None, end_user: str = "user-1", name: str | None = None) -> str:
        result = self.engine.connections.create(
            ConnectRequest(
                integration_id="sandbox",
                scheme="API_KEY",
                name=name,
                end_user_id=end_user,
                data={"api_key": CANARY_API_KEY, "port": 9},
            ),
            team=team or self.team_id,
        )
        return str(result.id)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None, html
    return found.group(1)


@pytest.fixture
def console(home: Path) -> Iterator[Console]:
    settings = dataclasses.replace(
        Settings.from_env(), home=home, allow_private_networks="127.0.0.0/8", delivery_retry_delays=(0.05,)
    )
    engine = Engine(settings, guard_outbound=True)
    team = engine.teams.create_team("Acme")
    assert team is not None
    record, key = engine.teams.create_api_key(team.id, "operator")
    try:
        yield Console(engine, create_app(engine), team.id, key, record.id)
    finally:
        engine.close()


# Sessions and cookies


def test_every_page_needs_a_session(console: Console) -> None:
    with console.client() as client:
        for path in [*PAGES, "/console", "/console/connections/abc"]:
            answer = client.get(path)
            assert answer.status_code == 303, path
            target = "/console/connections" if path == "/console" else "/console/sign-in"
            assert answer.headers["location"] == target, path
        # A POST without a session changes nothing either.
        assert client.post("/console/keys", data={"name": "x"}).headers["location"] == "/console/sign-in"
    assert len(console.engine.teams.list_api_keys(console.team_id)) == 1


def test_sign_in_sets_a_strict_http_only_cookie_holding_only_an_id(console: Console) -> None:
    with console.client() as client:
        form = client.get("/console/sign-in")
        assert form.status_code == 200
        answer = client.post("/console/sign-in", data={"api_key": console.key, "csrf_token": csrf_of(form.text)})
    cookie = next(v for k, v in answer.headers.multi_items() if k == "set-cookie" and v.startswith("plughub_console="))
    flags = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in flags and "samesite=strict" in flags and "path=/console" in flags
    assert "secure" not in flags  # plain http: a Secure cookie would never come back
    value = cookie.split(";")[0].split("=", 1)[1]
    assert len(value) >= 40
    assert console.key not in cookie
    # Only the hash of the id is stored.
    session = console.engine.teams.console_session(value)
    assert session is not None and session.team_id == console.team_id
    assert console.engine.store.console_sessions.get(value) is None


def test_the_cookie_is_secure_over_https(console: Console) -> None:
    with console.client("https://console.example") as client:
        form = client.get("/console/sign-in")
        answer = client.post("/console/sign-in", data={"api_key": console.key, "csrf_token": csrf_of(form.text)})
        cookie = next(v for k, v in answer.headers.multi_items() if k == "set-cookie" and "plughub_console=" in v)
        assert "secure" in [p.strip().lower() for p in cookie.split(";")]
        assert client.get("/console/keys").status_code == 200


def test_a_wrong_key_is_refused_and_opens_no_session(console: Console) -> None:
    with console.client() as client:
        form = client.get("/console/sign-in")
        answer = client.post("/console/sign-in", data={"api_key": "phk_nope", "csrf_token": csrf_of(form.text)})
        assert answer.status_code == 401
        assert "unknown or revoked" in answer.text
        assert "plughub_console=" not in answer.headers.get("set-cookie", "")
        assert client.get("/console/keys").status_code == 303


def test_sign_in_without_its_csrf_cookie_is_refused(console: Console) -> None:
    with console.client() as client:
        token = csrf_of(client.get("/console/sign-in").text)
    with console.client() as stranger:  # a cross-site form post: no cookie of ours
        answer = stranger.post("/console/sign-in", data={"api_key": console.key, "csrf_token": token})
    assert answer.status_code == 403
    assert "did not come from this console" in answer.text


def test_sign_out_deletes_the_session_on_the_server(console: Console) -> None:
    with console.signed_in() as client:
        cookie = client.cookies["plughub_console"]
        page = client.get("/console/keys")
        answer = client.post("/console/sign-out", data={"csrf_token": csrf_of(page.text)})
        assert answer.status_code == 303 and answer.headers["location"] == "/console/sign-in"
        assert console.engine.teams.console_session(cookie) is None
    with console.client() as replay:  # the old cookie, sent again, opens nothing
        replay.cookies.set("plughub_console", cookie, path="/console")
        answer = replay.get("/console/keys")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/console/sign-in?expired=1"


def test_an_expired_session_sends_the_operator_to_sign_in(console: Console) -> None:
    opened = console.engine.teams.sign_in(console.key, ttl=timedelta(seconds=-1))
    assert opened is not None
    with console.client() as client:
        client.cookies.set("plughub_console", opened[0], path="/console")
        answer = client.get("/console/connections")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/console/sign-in?expired=1"
        assert "Your session ended" in client.get(answer.headers["location"]).text


def test_revoking_the_key_ends_its_sessions(console: Console) -> None:
    with console.signed_in() as client:
        page = client.get("/console/keys")
        answer = client.post(f"/console/keys/{console.key_id}/revoke", data={"csrf_token": csrf_of(page.text)})
        assert answer.status_code == 303
        assert client.get("/console/keys").headers["location"] == "/console/sign-in?expired=1"


# CSRF on every form


def test_a_wrong_csrf_token_is_refused_and_changes_nothing(console: Console) -> None:
    connection = console.connect()
    with console.signed_in() as client:
        token = csrf_of(client.get("/console/keys").text)
        wrong = ("y" if token[0] == "x" else "x") + token[1:]  # never the token itself
        posts = [
            ("/console/keys", {"name": "sneaky"}),
            (f"/console/keys/{console.key_id}/revoke", {}),
            (f"/console/connections/{connection}/delete", {}),
            (f"/console/connections/{connection}/reconnect", {}),
            ("/console/oauth-apps", {"integration_id": "sandbox", "client_id": "c", "client_secret": "s"}),
            ("/console/connect-links", {"integration_id": "sandbox"}),
            ("/console/connect-links/redirect-urls", {"urls": "https://evil.example/"}),
            ("/console/integrations", {"text": "id: sneaky\ndisplay_name: S\nauth: [{mode: NO_AUTH}]\nactions: {}"}),
            ("/console/sign-out", {}),
        ]
        for path, data in posts:
            for sent in ({**data, "csrf_token": wrong}, data):
                answer = client.post(path, data=sent)
                assert answer.status_code == 403, (path, answer.status_code)
                assert "did not come from this console" in answer.text
        assert client.get("/console/keys").status_code == 200  # still signed in
    engine = console.engine
    assert [k.name for k in engine.teams.list_api_keys(console.team_id)] == ["operator"]
    assert engine.teams.list_api_keys(console.team_id)[0].revoked_at is None
    assert engine.connections.get(connection, team=console.team_id).id == connection
    assert engine.oauth_apps.list(team=console.team_id) == []
    assert engine.teams.redirect_urls(console.team_id) == []
    assert engine.integrations.list("sneaky", team=console.team_id).total == 0


# Tenancy


def test_another_teams_ids_are_not_found(console: Console) -> None:
    other = console.engine.teams.create_team("Other")
    assert other is not None
    theirs = console.connect(team=other.id, end_user="their-user", name="their-connection")
    their_key, _ = console.engine.teams.create_api_key(other.id, "their key")
    console.engine.store.runs.record(RunRecord(other.id, theirs, "SANDBOX_WHOAMI", "SUCCESS", 200, None, 1.0))
    with console.signed_in() as client:
        token = csrf_of(client.get("/console/keys").text)
        for path in (f"/console/connections/{theirs}", f"/console/connections/{theirs}/delete"):
            assert client.get(path).status_code == 404, path
        for path in (
            f"/console/connections/{theirs}/delete",
            f"/console/connections/{theirs}/reconnect",
            f"/console/keys/{their_key.id}/revoke",
        ):
            answer = client.post(path, data={"csrf_token": token})
            assert answer.status_code == 404, path
            assert "their-connection" not in answer.text
        listing = client.get("/console/connections").text
        assert theirs not in listing and "their-user" not in listing
        assert their_key.id not in client.get("/console/keys").text
        assert "0 runs" in client.get(f"/console/runs?connection={theirs}").text
        assert "0 runs" in client.get("/console/runs").text
    assert console.engine.connections.get(theirs, team=other.id).id == theirs
    assert console.engine.teams.list_api_keys(other.id)[0].revoked_at is None


# Escaping and headers


def test_tenant_text_is_escaped(console: Console) -> None:
    definition = {
        "id": "evil",
        "display_name": f"Evil {SCRIPT}",
        "description": f"Says {SCRIPT} and \"quotes\" 'too'",
        "categories": [f"cat{SCRIPT}"],
        "base_url": "https://evil.example",
        "auth": [{"mode": "API_KEY"}],
        "actions": {"EVIL_RUN": {"display_name": f"Run {SCRIPT}", "method": "GET", "path": "/run"}},
    }
    console.engine.integrations.create(definition, team=console.team_id)
    console.engine.connections.create(
        ConnectRequest(
            integration_id="evil",
            scheme="API_KEY",
            name=f"conn {SCRIPT}",
            end_user_id=f"user{SCRIPT}",
            data={"api_key": CANARY_API_KEY},
        ),
        team=console.team_id,
    )
    with console.signed_in() as client:
        pages = [
            client.get("/console/integrations?q=evil"),
            client.get("/console/integrations/evil"),
            client.get("/console/connections"),
            client.get(f"/console/integrations?q={SCRIPT}"),
            client.get(f"/console/connections?end_user={SCRIPT}"),
        ]
        connection = console.engine.connections.list(team=console.team_id).results[0].id
        pages.append(client.get(f"/console/connections/{connection}"))
        for answer in pages:
            assert answer.status_code == 200
            assert "<script" not in answer.text.lower()
            assert CANARY_API_KEY not in answer.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[1].text
        assert "&lt;script&gt;" in pages[2].text
    with TestClient(console.app) as api:  # the hosted connect page, for an end user
        created = api.post(
            "/v1/connect-sessions",
            json={"integration_id": "evil"},
            headers={"Authorization": f"Bearer {console.key}"},
        )
        page = api.get(httpx.URL(created.json()["url"]).path)
    assert page.status_code == 200
    assert "<script" not in page.text.lower()
    assert "Connect Evil &lt;script&gt;" in page.text


def test_every_page_carries_the_security_headers(console: Console) -> None:
    connection = console.connect()
    with console.signed_in() as client:
        answers = [client.get(p) for p in [*PAGES, f"/console/connections/{connection}"]]
        answers += [client.get("/console/sign-in"), client.get("/console/connections/nope")]
    for answer in answers:
        assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY, answer.url
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert answer.headers["cache-control"] == "no-store"
        assert "<script" not in answer.text
        assert re.findall(r'<link rel="stylesheet" href="([^"]+)"', answer.text) == ["/assets/plughub.css"]
        assert "http" not in " ".join(re.findall(r'(?:src|href)="([^"]+)"', answer.text)), answer.url  # no CDN
    with console.client() as client:
        css = client.get("/assets/plughub.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "@media" in css.text  # readable on a phone


def test_bad_input_is_a_page_never_a_500(console: Console) -> None:
    with console.signed_in() as client:
        token = csrf_of(client.get("/console/keys").text)
        cases = [
            (client.get("/console/runs?since=yesterday"), 422, "since must be a date"),
            (client.get("/console/runs?since=2025-02-01&until=2025-01-01"), 422, "since must be before until"),
            (client.get("/console/runs?status=MAYBE"), 422, "status must be one of"),
            (client.get("/console/connections?status=sleeping"), 422, "status must be one of"),
            (client.get("/console/integrations?page=-1"), 422, "page"),
            (client.get("/console/integrations/no-such-thing"), 404, "No integration"),
            (client.post("/console/keys", data={"csrf_token": token, "name": " "}), 422, "give the key a name"),
            (
                client.post("/console/integrations", data={"csrf_token": token, "text": "a: [unclosed"}),
                422,
                "not valid YAML",
            ),
            (
                client.post("/console/integrations", data={"csrf_token": token, "text": "- a list"}),
                422,
                "a YAML mapping",
            ),
            (client.post("/console/integrations", data={"csrf_token": token, "text": "id: x"}), 422, ""),
            (client.post("/console/integrations/import", data={"csrf_token": token, "text": ""}), 422, "choose"),
            (
                client.post(
                    "/console/connect-links",
                    data={"csrf_token": token, "integration_id": "sandbox", "redirect_url": "https://evil.example/"},
                ),
                422,
                "not on the team",
            ),
            (
                client.post(
                    "/console/connect-links/redirect-urls", data={"csrf_token": token, "urls": "javascript:alert(1)"}
                ),
                422,
                "absolute http",
            ),
            (
                client.post(
                    "/console/oauth-apps",
                    data={"csrf_token": token, "integration_id": "hacker-news", "client_id": "a", "client_secret": "b"},
                ),
                422,
                "no OAuth scheme",
            ),
        ]
        for answer, status, words in cases:
            assert answer.status_code == status, (answer.url, answer.status_code, answer.text[-400:])
            assert answer.headers["content-type"].startswith("text/html")
            assert words in answer.text.replace("&#39;", "'"), (answer.url, answer.text[-400:])
    listed = console.engine.integrations.list(None, 0, 1000, team=console.team_id).results
    assert [i.id for i in listed if i.source == "user"] == []  # nothing half-registered
    assert console.engine.oauth_apps.list(team=console.team_id) == []
    assert console.engine.teams.redirect_urls(console.team_id) == []
    assert len(console.engine.teams.list_api_keys(console.team_id)) == 1


# What the pages show


def test_a_connection_being_deleted_is_gone_from_the_console(console: Console) -> None:
    kept = console.connect(name="kept-conn")
    going = console.connect(name="going-conn")
    # As while its subscriptions are unsubscribed at the provider (tests/events/test_connection_deletion.py).
    assert console.engine.store.connections.mark_deleting(going, console.team_id, lease=60)
    with console.signed_in() as client:
        listing = client.get("/console/connections").text
        assert "kept-conn" in listing and "going-conn" not in listing and "1 connection<" in listing
        for path in (f"/console/connections/{going}", f"/console/connections/{going}/delete"):
            assert client.get(path).status_code == 404, path
        token = csrf_of(listing)
        assert client.post(f"/console/connections/{going}/delete", data={"csrf_token": token}).status_code == 404
        assert client.get(f"/console/connections/{kept}").status_code == 200


def test_connections_filter_and_runs_filter_and_paginate(console: Console) -> None:
    first = console.connect(end_user="alice", name="alice-conn")
    second = console.connect(end_user="bob", name="bob-conn")
    now = utcnow()
    runs = [
        RunRecord(console.team_id, first, "SANDBOX_WHOAMI", "SUCCESS", 200, None, 12.0, now - timedelta(minutes=i))
        for i in range(60)
    ]
    runs.append(RunRecord(console.team_id, second, "SANDBOX_ECHO", "FAILED", 500, "upstream_status", 3.0, now))
    console.engine.store.runs.record_many(runs)
    with console.signed_in() as client:
        listing = client.get("/console/connections?end_user=alice").text
        assert "alice-conn" in listing and "bob-conn" not in listing
        assert "bob-conn" in client.get("/console/connections?q=bob").text
        assert "0 connections" in client.get("/console/connections?status=pending").text
        assert "2 connections" in client.get("/console/connections?status=active").text
        failed = client.get("/console/runs?status=FAILED").text
        assert "1 run<" in failed and "SANDBOX_ECHO" in failed and "SANDBOX_WHOAMI" not in failed
        by_connection = client.get(f"/console/runs?connection={first}")
        assert "60 runs" in by_connection.text and "Page 1 of 2" in by_connection.text
        assert by_connection.text.count("SANDBOX_WHOAMI") == 50
        page_two = client.get(f"/console/runs?connection={first}&page=1").text
        assert page_two.count("SANDBOX_WHOAMI") == 10 and "Page 2 of 2" in page_two
        since = (now - timedelta(minutes=9, seconds=30)).strftime("%Y-%m-%dT%H:%M:%S")
        recent = client.get(f"/console/runs?connection={first}&since={since}").text
        assert "10 runs" in recent
        detail = client.get(f"/console/connections/{first}").text
        assert "alice" in detail and CANARY_API_KEY not in detail and "SANDBOX_WHOAMI" in detail
        assert "never" not in detail.split("Last used")[1][:80]


def test_an_oauth_apps_signing_secret_is_set_kept_and_shown_masked(console: Console) -> None:
    secret = "8f742231b10e8888abcd99yyyzzz85a5"
    with console.signed_in() as client:
        token = csrf_of(client.get("/console/oauth-apps").text)
        app = {"csrf_token": token, "integration_id": "slack", "client_id": "1.2", "client_secret": "slack-cs-0001"}
        assert client.post("/console/oauth-apps", data={**app, "signing_secret": secret}).status_code == 303
        [stored] = console.engine.oauth_apps.list(team=console.team_id)
        assert stored.signing_secret == "***" + secret[-4:]
        # Set again without one (a client secret rotated): the signing secret stays.
        assert client.post("/console/oauth-apps", data={**app, "client_secret": "slack-cs-0002"}).status_code == 303
        [stored] = console.engine.oauth_apps.list(team=console.team_id)
        assert stored.signing_secret == "***" + secret[-4:]
        page = client.get("/console/oauth-apps").text
        assert "***" + secret[-4:] in page and secret not in page and "slack-cs-000" not in page


def test_reconnect_sends_the_operator_to_the_providers_consent(console: Console) -> None:
    console.engine.oauth_apps.set("sandbox", "console-client", "console-secret-1234", team=console.team_id)
    pending = console.engine.connections.create(
        ConnectRequest(integration_id="sandbox", scheme="OAUTH2", data={"port": 9}), team=console.team_id
    )
    static = console.connect()
    with console.signed_in() as client:
        page = client.get(f"/console/connections/{pending.id}")
        assert 'id="reconnect"' in page.text
        assert 'id="reconnect"' not in client.get(f"/console/connections/{static}").text
        answer = client.post(f"/console/connections/{pending.id}/reconnect", data={"csrf_token": csrf_of(page.text)})
        assert answer.status_code == 303
        consent = httpx.URL(answer.headers["location"])
        assert consent.path.endswith("/authorize") and consent.params["client_id"] == "console-client"
        assert "console-secret-1234" not in str(consent)
        refused = client.post(f"/console/connections/{static}/reconnect", data={"csrf_token": csrf_of(page.text)})
        assert refused.status_code == 422


# Subscriptions and deliveries


class Feed:
    """A list API a poll trigger reads; it can fail with tenant-chosen text in its error."""

    def __init__(self) -> None:
        self.items = [{"id": 1}, {"id": 2}]
        self.error: str | None = None
        self.server = Upstream()
        self.server.route("GET", "/items", self._items)

    def _items(self, _seen: Any) -> Reply:
        return Reply(503, {"error": self.error}) if self.error else Reply(200, self.items)


@pytest.fixture
def feed(console: Console) -> Iterator[Feed]:
    made = Feed()
    console.engine.integrations.create(POLLING, team=console.team_id)
    try:
        yield made
    finally:
        made.server.close()


def poll_subscription(console: Console, feed: Feed, target_url: str | None, team: str | None = None) -> str:
    """A poll trigger's subscription on a fresh connection (its first poll records what exists)."""
    team = team or console.team_id
    if team != console.team_id:
        console.engine.integrations.create(POLLING, team=team)
    conn = console.engine.connections.create(
        ConnectRequest(integration_id="acme-feed", scheme="NO_AUTH", data={"base_url": feed.server.url}), team=team
    ).id
    request = SubscribeRequest(trigger="ACME_FEED_NEW_ITEM", target_url=target_url)
    sub = console.engine.events.subscriptions.subscribe(conn, request, team=team).id
    assert console.engine.events.poll_now(sub, team=team) == []
    return sub


def test_subscriptions_list_filter_and_show_events_and_deliveries(console: Console, feed: Feed) -> None:
    target = Upstream()
    answers = {"status": 500}
    target.route("POST", "/hook", lambda _seen: Reply(answers["status"], {}))
    console.engine.events.start_worker()
    try:
        pushed = poll_subscription(console, feed, f"{target.url}/hook")
        pulled = poll_subscription(console, feed, None)
        pulled_conn = console.engine.events.subscriptions.get(pulled, team=console.team_id).connection_id
        feed.items.append({"id": 3})
        (event,) = console.engine.events.poll_now(pushed, team=console.team_id)
        assert len(console.engine.events.poll_now(pulled, team=console.team_id)) == 1
        (failed,) = wait_for(
            lambda: console.engine.events.subscriptions.deliveries(pushed, "failed", team=console.team_id)
        )
        assert failed.attempts == 2 and failed.last_status == 500
        feed.error = f"down {SCRIPT}"
        with pytest.raises(ActionError):
            console.engine.events.poll_now(pulled, team=console.team_id)
        with console.signed_in() as client:
            listing = client.get("/console/subscriptions")
            assert listing.status_code == 200 and "2 subscriptions" in listing.text
            assert 'id="nav-subscriptions" aria-current="page"' in listing.text
            assert f"row-{pushed}" in listing.text and f"{target.url}/hook" in listing.text
            failing = client.get("/console/subscriptions?status=failing").text
            assert "1 subscription<" in failing and f"row-{pulled}" in failing and f"row-{pushed}" not in failing
            assert "&lt;script&gt;" in failing and "<script" not in failing.lower()
            by_connection = client.get(f"/console/subscriptions?connection={pulled_conn}").text
            assert "1 subscription<" in by_connection and f"row-{pulled}" in by_connection
            assert (
                f"/console/subscriptions?connection={pulled_conn}"
                in client.get(f"/console/connections/{pulled_conn}").text
            )  # the connection's page links to its subscriptions

            page = client.get(f"/console/subscriptions/{pushed}")
            assert page.status_code == 200
            assert f'id="failed-{event.id}"' in page.text and "the target answered 500" in page.text
            assert f'id="event-{event.id}"' in page.text and "status-failed" in page.text
            row = page.text.split(f'id="event-{event.id}"')[1].split("</tr>")[0]
            assert ">2</td>" in row  # attempts
            shown = client.get(f"/console/subscriptions/{pulled}").text
            assert "not pushed" in shown and "&lt;script&gt;" in shown and "<script" not in shown.lower()
            assert "Re-send" not in shown

            # Re-send the failed delivery: it goes out again and, the target fixed, is delivered.
            answers["status"] = 200
            answer = client.post(
                f"/console/subscriptions/{pushed}/events/{event.id}/redeliver", data={"csrf_token": csrf_of(page.text)}
            )
            assert answer.status_code == 303
            assert answer.headers["location"] == f"/console/subscriptions/{pushed}?resent={event.id}"
            (done,) = wait_for(
                lambda: console.engine.events.subscriptions.deliveries(pushed, "delivered", team=console.team_id)
            )
            assert done.event_id == event.id and done.attempts == 3
            after = client.get(answer.headers["location"]).text
            assert 'id="resent"' in after and "status-delivered" in after and "None.</td>" in after
    finally:
        console.engine.events.stop_worker()
        target.close()


def test_deleting_a_subscription_asks_first(console: Console, feed: Feed) -> None:
    sub = poll_subscription(console, feed, None)
    with console.signed_in() as client:
        ask = client.get(f"/console/subscriptions/{sub}/delete")
        assert ask.status_code == 200 and 'id="confirm"' in ask.text
        assert console.engine.events.subscriptions.get(sub, team=console.team_id).id == sub  # asking deletes nothing
        answer = client.post(f"/console/subscriptions/{sub}/delete", data={"csrf_token": csrf_of(ask.text)})
        assert answer.status_code == 303
        assert answer.headers["location"] == f"/console/subscriptions?deleted={sub}"
        assert sub in client.get(answer.headers["location"]).text
        assert client.get(f"/console/subscriptions/{sub}").status_code == 404
    with pytest.raises(SubscriptionNotFound):
        console.engine.events.subscriptions.get(sub, team=console.team_id)


def test_subscription_forms_need_the_csrf_token_and_other_teams_ids_are_not_found(console: Console, feed: Feed) -> None:
    target = Upstream()
    target.route("POST", "/hook", Reply(500, {}))
    ours = poll_subscription(console, feed, f"{target.url}/hook")
    feed.items.append({"id": 3})
    (event,) = console.engine.events.poll_now(ours, team=console.team_id)
    other = console.engine.teams.create_team("Other")
    assert other is not None
    theirs = poll_subscription(console, feed, f"{target.url}/hook", team=other.id)
    feed.items.append({"id": 4})
    (their_event,) = console.engine.events.poll_now(theirs, team=other.id)
    their_conn = console.engine.events.subscriptions.get(theirs, team=other.id).connection_id
    try:
        with console.signed_in() as client:
            token = csrf_of(client.get("/console/subscriptions").text)
            for path in (
                f"/console/subscriptions/{ours}/delete",
                f"/console/subscriptions/{ours}/events/{event.id}/redeliver",
            ):
                for sent in ({"csrf_token": ("y" if token[0] == "x" else "x") + token[1:]}, {}):
                    answer = client.post(path, data=sent)
                    assert answer.status_code == 403, path
                    assert "did not come from this console" in answer.text
            for path in (f"/console/subscriptions/{theirs}", f"/console/subscriptions/{theirs}/delete"):
                assert client.get(path).status_code == 404, path
            for path in (
                f"/console/subscriptions/{theirs}/delete",
                f"/console/subscriptions/{theirs}/events/{their_event.id}/redeliver",
                f"/console/subscriptions/{ours}/events/{their_event.id}/redeliver",  # their event, our subscription
            ):
                answer = client.post(path, data={"csrf_token": token})
                assert answer.status_code == 404, path
            assert client.get(f"/console/subscriptions?connection={their_conn}").status_code == 404
            listing = client.get("/console/subscriptions").text
            assert theirs not in listing and their_conn not in listing and "1 subscription<" in listing
    finally:
        target.close()
    assert console.engine.events.subscriptions.get(ours, team=console.team_id).id == ours
    assert console.engine.events.subscriptions.get(theirs, team=other.id).id == theirs


def test_subscription_bad_input_is_a_page(console: Console, feed: Feed) -> None:
    pulled = poll_subscription(console, feed, None)
    feed.items.append({"id": 3})
    (event,) = console.engine.events.poll_now(pulled, team=console.team_id)
    with console.signed_in() as client:
        token = csrf_of(client.get("/console/subscriptions").text)
        cases = [
            (client.get("/console/subscriptions?status=sleeping"), 422, "status must be one of pending, active"),
            (client.get("/console/subscriptions?page=-1"), 422, "page"),
            (client.get("/console/subscriptions?connection=nope"), 404, "nope"),
            (client.get("/console/subscriptions/nope"), 404, "No subscription"),
            (
                client.post(f"/console/subscriptions/{pulled}/events/{event.id}/redeliver", data={"csrf_token": token}),
                422,
                "has no target_url",
            ),
            (
                client.post(f"/console/subscriptions/{pulled}/events/evt_nope/redeliver", data={"csrf_token": token}),
                404,
                "has no event",
            ),
        ]
        for answer, status, words in cases:
            assert answer.status_code == status, (answer.url, answer.status_code, answer.text[-400:])
            assert answer.headers["content-type"].startswith("text/html")
            assert words in answer.text.replace("&#39;", "'"), (answer.url, answer.text[-400:])
    assert console.engine.events.subscriptions.deliveries(pulled, team=console.team_id) == []


# Reconnect from the console: back to the console, not to a connect link's redirect_url


def test_a_console_reconnect_returns_to_the_console_not_to_the_links_redirect_url(
    console: Console, sandbox: SandboxServer
) -> None:
    engine = console.engine
    sandbox.register_oauth_client("console-client", "console-secret-1234", engine.settings.callback_url)
    engine.oauth_apps.set("sandbox", "console-client", "console-secret-1234", team=console.team_id)
    engine.teams.set_redirect_urls(console.team_id, ["https://app.example/connected"])
    api = {"Authorization": f"Bearer {console.key}"}
    callback_path = httpx.URL(engine.settings.callback_url).path
    with TestClient(console.app, base_url="http://127.0.0.1", follow_redirects=False) as end_user:
        created = end_user.post(
            "/v1/connect-sessions",
            json={"integration_id": "sandbox", "schemes": ["OAUTH2"], "end_user_id": "eve",
                  "redirect_url": "https://app.example/connected?from=link"},
            headers=api,
        )  # fmt: skip
        assert created.status_code == 201, created.text
        path = httpx.URL(created.json()["url"]).path
        form = end_user.get(path)
        consent = end_user.post(
            path, data={"csrf_token": csrf_of(form.text), "scheme": "OAUTH2", "port": str(sandbox.port)}
        )
        assert consent.status_code == 303, consent.text
        back = httpx.URL(give_consent(consent.headers["location"]))
        landed = end_user.get(f"{back.path}?{back.query.decode()}")
        # The end user lands in the application, as the link said.
        app_url = httpx.URL(landed.headers["location"])
        assert (app_url.host, app_url.params["from"], app_url.params["status"]) == ("app.example", "link", "active")
        connection = app_url.params["connection_id"]

    with console.signed_in() as operator:
        page = operator.get(f"/console/connections/{connection}")
        answer = operator.post(f"/console/connections/{connection}/reconnect", data={"csrf_token": csrf_of(page.text)})
        assert answer.status_code == 303
        mark = next(v for k, v in answer.headers.multi_items() if k == "set-cookie" and "plughub_reconnect_" in v)
        flags = [p.strip().lower() for p in mark.split(";")]
        assert f"path={callback_path}" in flags and "httponly" in flags and "samesite=lax" in flags
        assert mark.split(";")[0] == f"plughub_reconnect_{connection}=1"  # the id only: no state, no token
        back = httpx.URL(give_consent(answer.headers["location"]))
        returned = operator.get(f"{back.path}?{back.query.decode()}")
        assert returned.status_code == 303
        assert returned.headers["location"] == f"/console/connections/{connection}?reconnected=1"
        shown = operator.get(returned.headers["location"])
        assert 'id="reconnected"' in shown.text and "status-active" in shown.text
        assert not any(k.startswith("plughub_reconnect_") for k in operator.cookies)  # used once

    # A reconnect started elsewhere (the API) still sends the browser to the application.
    with TestClient(console.app, base_url="http://127.0.0.1", follow_redirects=False) as browser:
        again = browser.post(f"/v1/connections/{connection}/reconnect", json={}, headers=api)
        assert again.status_code == 200, again.text
        back = httpx.URL(give_consent(again.json()["redirect_url"]))
        landed = browser.get(f"{back.path}?{back.query.decode()}")
        assert httpx.URL(landed.headers["location"]).host == "app.example"
    assert engine.connections.get(connection, team=console.team_id).status.value == "active"
