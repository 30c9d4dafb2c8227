"""The operator's console in a real browser: headless Chromium, driven by Playwright, over real sockets.

An operator signs in with the team's API key and works through every page: searches the catalog,
registers a definition and imports an OpenAPI document, filters connections and runs, deletes a
connection (after confirming), sets an OAuth app, creates and revokes a key, creates a connect link
that an end user then completes (landing back on the application's redirect_url), and signs out.
A tampered CSRF token, another team's ids and an expired session are refused.

Screenshots of each page go to a temporary directory, or to docs/console/ with
PLUGHUB_CONSOLE_SCREENSHOTS=1 (how the README's pictures are made). Without /usr/bin/chromium or
the `playwright` package these tests skip, except under CI=true, where they fail.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from plughub.config import Settings
from plughub.engine import Engine
from plughub.engine.store import RunRecord, utcnow
from plughub.sandbox import SandboxServer
from plughub.schemas import ConnectRequest, SubscribeRequest
from plughub.server import create_app
from tests.conftest import CANARY_API_KEY, CANARY_TOKEN
from tests.events.test_events_engine import wait_for
from tests.providers.double import ProviderDouble
from tests.server.test_connect_page import CHROMIUM, CHROMIUM_ARGS, _missing_browser
from tests.servers import free_port, serve_app
from tests.upstream import Reply, Upstream

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CLIENT_SECRET = "console-client-secret-5d7f9b1c3e"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "console"
# Read at import: the tests' own fixture clears PLUGHUB_* variables.
SAVE_SHOTS = os.environ.get("PLUGHUB_CONSOLE_SCREENSHOTS") == "1"
DEFINITION = """\
id: team-status
display_name: Team Status
description: Our own status API.
categories: [monitoring]
base_url: https://status.example.com
auth: [{mode: BEARER_TOKEN}]
actions:
  TEAM_STATUS_GET:
    display_name: Get status
    method: GET
    path: /status
    inputs:
      component: {type: string, in: query, description: Which component}
"""
OPENAPI = json.dumps(
    {
        "openapi": "3.0.3",
        "info": {"title": "Pet Store", "version": "1"},
        "servers": [{"url": "https://pets.example.com"}],
        "paths": {
            "/pets": {
                "get": {"operationId": "listPets", "summary": "List pets", "responses": {"200": {"description": "ok"}}}
            }
        },
    }
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    missing = _missing_browser()
    if missing is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{missing}; CI=true requires the browser tests to run")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Hub:
    url: str
    engine: Engine
    api: httpx.Client
    team_id: str
    key: str
    sandbox: SandboxServer
    shots: Path

    def connect(self, end_user: str, name: str) -> str:
        body = {
            "integration_id": "sandbox",
            "scheme": "API_KEY",
            "name": name,
            "end_user_id": end_user,
            "data": {"api_key": CANARY_API_KEY, "port": self.sandbox.port},
        }
        answer = self.api.post("/v1/connections", json=body)
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])


@pytest.fixture
def hub(home: Path, sandbox: SandboxServer, tmp_path: Path) -> Iterator[Hub]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = Settings(
        home=home,
        callback_url=f"{base}/oauth/callback",
        public_url=base,
        allow_private_networks="127.0.0.0/8",
        delivery_retry_delays=(0.05,),
    )
    engine = Engine(settings, guard_outbound=True)
    engine.teams.create_team("Acme", team_id="acme")
    _record, key = engine.teams.create_api_key("acme", "operator")
    shots = DOCS if SAVE_SHOTS else tmp_path / "shots"
    shots.mkdir(parents=True, exist_ok=True)
    try:
        with (
            serve_app(create_app(engine), port=port) as url,
            httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=15) as api,
        ):
            yield Hub(url, engine, api, "acme", key, sandbox, shots)
    finally:
        engine.close()


@pytest.fixture
def tab(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        context.close()


def sign_in(tab: Page, hub: Hub, key: str | None = None) -> None:
    tab.goto(f"{hub.url}/console")
    assert tab.url.startswith(f"{hub.url}/console/sign-in")
    tab.fill("#api_key", key or hub.key)
    with tab.expect_navigation():
        tab.click("#submit")
    assert tab.url == f"{hub.url}/console/connections", tab.content()


def shot(tab: Page, hub: Hub, name: str) -> None:
    tab.screenshot(path=str(hub.shots / f"{name}.png"), full_page=True)


def test_an_operator_works_through_every_page(hub: Hub, tab: Page, upstream: Upstream) -> None:
    alice = hub.connect("alice", "Alice's sandbox")
    bob = hub.connect("bob", "Bob's sandbox")
    for _ in range(3):
        ran = hub.api.post(f"/v1/connections/{alice}/actions/SANDBOX_WHOAMI/run", json={"inputs": {}})
        assert ran.json()["status"] == "SUCCESS", ran.text
    hub.engine.store.runs.record(RunRecord("acme", bob, "SANDBOX_WHOAMI", "FAILED", 401, "upstream_status", 8.0))

    sign_in(tab, hub)
    assert tab.locator("#team").inner_text() == "Acme"
    assert "system-ui" in tab.evaluate("getComputedStyle(document.body).fontFamily")  # the style sheet applies
    assert tab.locator("#connections tbody tr").count() == 2
    assert tab.locator(f"#row-{alice}").inner_text().count("UTC") == 2  # created and last used
    assert "never" in tab.locator(f"#row-{bob}").inner_text() or "UTC" in tab.locator(f"#row-{bob}").inner_text()
    shot(tab, hub, "connections")

    # Integrations: search, one integration, register a definition, import an OpenAPI document.
    tab.click("#nav-integrations")
    tab.fill("input[name=q]", "sandbox")
    with tab.expect_navigation():
        tab.click("#search button")
    assert tab.locator("#integrations tbody tr").count() >= 1
    shot(tab, hub, "integrations")
    with tab.expect_navigation():
        tab.click("#integrations a:has-text('plughub Sandbox')")
    assert tab.locator("#name").inner_text() == "plughub Sandbox"
    assert "SANDBOX_WHOAMI" in tab.locator("#actions").inner_text()
    assert "API_KEY" in tab.locator("#schemes").inner_text()
    shot(tab, hub, "integration")
    tab.goto(f"{hub.url}/console/integrations")
    tab.fill("#definition-text", DEFINITION)
    with tab.expect_navigation():
        tab.click("#register-submit")
    assert tab.url.startswith(f"{hub.url}/console/integrations/team-status")
    assert tab.locator("#registered").count() == 1
    assert "component" in tab.locator("#actions").inner_text()
    tab.goto(f"{hub.url}/console/integrations")
    tab.fill("#document-text", OPENAPI)
    tab.fill("#import-id", "pets")
    with tab.expect_navigation():
        tab.click("#import-submit")
    assert tab.locator("#imported").inner_text().startswith("Imported Pet Store with 1 action")
    assert hub.api.get("/v1/integrations/pets").json()["action_count"] == 1

    # Connections: filter, a connection's page, delete after confirming.
    tab.goto(f"{hub.url}/console/connections")
    tab.fill("input[name=end_user]", "alice")
    with tab.expect_navigation():
        tab.click("#filter")
    assert tab.locator("#connections tbody tr").count() == 1
    with tab.expect_navigation():
        tab.click(f"#row-{alice} a")
    assert tab.locator("#status").inner_text() == "active"
    config = tab.locator("#config").inner_text()
    assert CANARY_API_KEY not in tab.content() and "api_key" in config
    assert tab.locator("#runs tbody tr").count() == 3
    shot(tab, hub, "connection")
    tab.goto(f"{hub.url}/console/connections/{bob}")
    with tab.expect_navigation():
        tab.click("#delete")
    shot(tab, hub, "delete-connection")
    assert hub.api.get(f"/v1/connections/{bob}").status_code == 200  # asking deletes nothing
    with tab.expect_navigation():
        tab.click("#confirm")
    assert bob in tab.locator("#deleted").inner_text()
    assert hub.api.get(f"/v1/connections/{bob}").status_code == 404

    # Runs: filtered by status and connection.
    tab.click("#nav-runs")
    assert tab.locator("#count").inner_text() == "4 runs"
    tab.select_option("#filter-status", "FAILED")
    with tab.expect_navigation():
        tab.click("#filter")
    assert tab.locator("#count").inner_text() == "1 run"
    assert "FAILED" in tab.locator("#runs tbody").inner_text()
    tab.goto(f"{hub.url}/console/runs?connection={alice}&status=SUCCESS")
    assert tab.locator("#count").inner_text() == "3 runs"
    shot(tab, hub, "runs")

    # OAuth apps: the client id shown, the secret never.
    tab.click("#nav-oauth-apps")
    tab.fill("#app-integration", "sandbox")
    tab.fill("#app-client-id", "console-client")
    tab.fill("#app-client-secret", CLIENT_SECRET)
    with tab.expect_navigation():
        tab.click("#set-app-submit")
    assert "console-client" in tab.locator("#app-sandbox").inner_text()
    assert CLIENT_SECRET not in tab.content() and CLIENT_SECRET[-4:] not in tab.content()
    shot(tab, hub, "oauth-apps")

    # API keys: a new key is shown once, works, and stops working when revoked.
    tab.click("#nav-keys")
    tab.fill("#key-name", "ci pipeline")
    with tab.expect_navigation():
        tab.click("#create")
    new_key = tab.locator("#new-key").inner_text()
    assert new_key.startswith("phk_")
    shot(tab, hub, "key-created")
    assert httpx.get(f"{hub.url}/v1/connections", headers={"Authorization": f"Bearer {new_key}"}).status_code == 200
    tab.goto(f"{hub.url}/console/keys")
    assert new_key not in tab.content()
    new_id = next(k.id for k in hub.engine.teams.list_api_keys("acme") if k.name == "ci pipeline")
    shot(tab, hub, "keys")
    with tab.expect_navigation():
        tab.click(f"#revoke-{new_id}")
    assert new_id in tab.locator("#revoked").inner_text()
    assert httpx.get(f"{hub.url}/v1/connections", headers={"Authorization": f"Bearer {new_key}"}).status_code == 401

    # Connect links: allow the application's address, create a link, and an end user completes it.
    upstream.route("GET", "/connected", Reply(200, {"welcome": "back"}))
    tab.click("#nav-connect-links")
    tab.fill("#urls", f"{upstream.url}/connected")
    with tab.expect_navigation():
        tab.click("#save-urls")
    tab.fill("#link-integration", "sandbox")
    tab.fill("#link-end-user", "carol")
    tab.fill("#link-redirect", f"{upstream.url}/connected?from=console")
    tab.check("#scheme-API_KEY")
    shot(tab, hub, "connect-links")
    with tab.expect_navigation():
        tab.click("#create")
    link = tab.locator("#link").inner_text()
    assert link.startswith(f"{hub.url}/connect/")
    shot(tab, hub, "link-created")

    end_user = tab.context.browser.new_context()  # type: ignore[union-attr]
    try:
        visitor = end_user.new_page()
        visitor.goto(link)
        assert visitor.locator("#description").inner_text()  # the integration's description
        assert visitor.locator("form").count() == 1
        shot(visitor, hub, "connect-page")
        visitor.fill("#API_KEY-api_key", CANARY_TOKEN)
        visitor.fill("#API_KEY-port", str(hub.sandbox.port))
        with visitor.expect_navigation(url=re.compile(re.escape(upstream.url) + r"/connected\?")):
            visitor.click("#submit-API_KEY")
        landed = httpx.URL(visitor.url)
        assert landed.params["from"] == "console" and landed.params["status"] == "active"
        carol = landed.params["connection_id"]
    finally:
        end_user.close()
    assert [("status", "active") in r.query for r in upstream.seen if r.path == "/connected"] == [True]
    made = hub.api.get(f"/v1/connections/{carol}").json()
    assert made["end_user_id"] == "carol" and made["status"] == "active"

    # A tampered CSRF token is refused and changes nothing.
    tab.goto(f"{hub.url}/console/keys")
    tab.fill("#key-name", "forged")
    tab.evaluate("document.querySelector('#create-key input[name=csrf_token]').value = 'forged'")
    with tab.expect_navigation() as refused:
        tab.click("#create")
    assert refused.value is not None and refused.value.status == 403
    assert "did not come from this console" in tab.locator("#error").inner_text()
    assert "forged" not in [k.name for k in hub.engine.teams.list_api_keys("acme")]

    # Another team's connection is not found.
    other = hub.engine.teams.create_team("Other")
    assert other is not None
    theirs = hub.engine.connections.create(
        ConnectRequest(integration_id="sandbox", scheme="NO_AUTH", data={"port": hub.sandbox.port}),
        team=other.id,
    ).id
    answer = tab.goto(f"{hub.url}/console/connections/{theirs}")
    assert answer is not None and answer.status == 404
    answer = tab.goto(f"{hub.url}/console/connections/{theirs}/delete")
    assert answer is not None and answer.status == 404

    # Readable on a phone: nothing wider than the screen but the tables' own scrolling boxes.
    tab.set_viewport_size({"width": 390, "height": 844})
    for path in ("connections", "runs", "keys", "integrations/sandbox"):
        tab.goto(f"{hub.url}/console/{path}")
        assert tab.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), path
    shot(tab, hub, "phone")
    tab.set_viewport_size({"width": 1200, "height": 900})

    # Sign out: the session is gone, the pages send the operator back to sign in.
    tab.goto(f"{hub.url}/console/connections")
    with tab.expect_navigation():
        tab.click("#sign-out button")
    assert tab.url == f"{hub.url}/console/sign-in"
    shot(tab, hub, "sign-in")
    tab.goto(f"{hub.url}/console/keys")
    assert tab.url.startswith(f"{hub.url}/console/sign-in")
    assert tab.locator("#api_key").count() == 1


def test_an_operator_resends_a_failed_delivery_and_deletes_the_subscription(
    hub: Hub, tab: Page, upstream: Upstream
) -> None:
    answers = {"status": 500}
    upstream.route("POST", "/hook", lambda _seen: Reply(answers["status"], {"ok": answers["status"] == 200}))
    github = ProviderDouble("github")
    try:
        made = hub.api.post(
            "/v1/connections",
            json={"integration_id": "github", "scheme": "BEARER_TOKEN", "name": "Octo's GitHub",
                  "data": {"token": "ghp_console_test", "base_url": github.url}},
        )  # fmt: skip
        assert made.status_code == 201, made.text
        conn = made.json()["id"]
        created = hub.api.post(
            f"/v1/connections/{conn}/subscriptions?wait=30",
            json={"trigger": "GITHUB_ISSUE_OPENED", "config": {"owner": "octo", "repo": "hello"},
                  "target_url": f"{upstream.url}/hook"},
        )  # fmt: skip
        assert created.status_code == 201, created.text
        sub = created.json()["id"]
        (hook,) = github.hooks.values()  # registered at the provider through its API
        github.deliver("issues", {"action": "opened", "issue": {"number": 7, "title": "Bug"}})
        github.deliver("issues", {"action": "opened", "issue": {"number": 8, "title": "Another"}})

        def listed(status: str) -> list[dict[str, object]]:
            found = hub.api.get(f"/v1/subscriptions/{sub}/deliveries", params={"status": status})
            return list(found.json())

        failed = wait_for(lambda: len(listed("failed")) == 2 and listed("failed"))
        event_id = str(failed[0]["event_id"])

        sign_in(tab, hub)
        tab.click("#nav-subscriptions")
        assert tab.locator("#count").inner_text() == "1 subscription"
        assert "GITHUB_ISSUE_OPENED" in tab.locator(f"#row-{sub}").inner_text()
        shot(tab, hub, "subscriptions")
        tab.fill("#filter-connection", conn)
        tab.select_option("#filter-status", "failing")
        with tab.expect_navigation():
            tab.click("#filter")
        assert tab.locator("#count").inner_text() == "0 subscriptions"
        tab.select_option("#filter-status", "active")
        with tab.expect_navigation():
            tab.click("#filter")
        with tab.expect_navigation():
            tab.click(f"#row-{sub} a:has-text('GITHUB_ISSUE_OPENED')")
        assert tab.locator("#status").inner_text() == "active"
        assert tab.locator("#failed tbody tr").count() == 2
        assert "the target answered 500" in tab.locator(f"#failed-{event_id}").inner_text()
        assert tab.locator("#events tbody tr").count() == 2
        assert hook.secret not in tab.content()
        shot(tab, hub, "subscription")

        # The target is fixed; the operator re-sends one failed delivery.
        answers["status"] = 200
        with tab.expect_navigation():
            tab.click(f"#resend-failed-{event_id}")
        assert event_id in tab.locator("#resent").inner_text()
        wait_for(lambda: [d["event_id"] for d in listed("delivered")] == [event_id])
        tab.reload()
        assert tab.locator("#failed tbody tr").count() == 1
        assert "delivered" in tab.locator(f"#event-{event_id}").inner_text()
        sent = [s for s in upstream.seen if s.path == "/hook" and s.header("webhook-id") == event_id]
        assert len(sent) == 3  # two failed attempts, then the re-sent one

        # Delete, after confirming: the provider's webhook goes too.
        with tab.expect_navigation():
            tab.click("#delete")
        assert hub.api.get(f"/v1/subscriptions/{sub}").status_code == 200  # asking deletes nothing
        with tab.expect_navigation():
            tab.click("#confirm")
        assert sub in tab.locator("#deleted").inner_text()
        assert hub.api.get(f"/v1/subscriptions/{sub}").status_code == 404
        assert not github.hooks

        # Another team's subscription is not found.
        hub.engine.teams.create_team("Other", team_id="other")
        hub.engine.integrations.create(
            {"id": "other-feed", "display_name": "Feed", "base_url": "http://127.0.0.1", "auth": [{"mode": "NO_AUTH"}],
             "actions": {"OTHER_FEED_LIST": {"display_name": "List", "method": "GET", "path": "/items"}},
             "triggers": {"OTHER_FEED_NEW": {"display_name": "New", "type": "poll", "action": "OTHER_FEED_LIST",
                                             "id": "/id"}}},
            team="other",
        )  # fmt: skip
        theirs_conn = hub.engine.connections.create(
            ConnectRequest(integration_id="other-feed", scheme="NO_AUTH", data={"base_url": upstream.url}), team="other"
        ).id
        theirs = hub.engine.events.subscriptions.subscribe(
            theirs_conn, SubscribeRequest(trigger="OTHER_FEED_NEW"), team="other"
        ).id
        answer = tab.goto(f"{hub.url}/console/subscriptions/{theirs}")
        assert answer is not None and answer.status == 404
        tab.goto(f"{hub.url}/console/subscriptions")
        assert tab.locator("#count").inner_text() == "0 subscriptions"
    finally:
        github.close()


def test_an_expired_session_asks_to_sign_in_again(hub: Hub, tab: Page) -> None:
    opened = hub.engine.teams.sign_in(hub.key, ttl=timedelta(seconds=-1))
    assert opened is not None
    cookie = {"name": "plughub_console", "value": opened[0], "domain": "127.0.0.1", "path": "/console"}
    tab.context.add_cookies([cookie])  # type: ignore[list-item]
    tab.goto(f"{hub.url}/console/connections")
    assert tab.url == f"{hub.url}/console/sign-in?expired=1"
    assert "Your session ended" in tab.locator("#expired").inner_text()
    sign_in(tab, hub)  # and signing in again works
    assert tab.locator("#team").inner_text() == "Acme"
    assert hub.engine.teams.console_session(opened[0]) is None
    assert utcnow() > opened[1].expires_at
