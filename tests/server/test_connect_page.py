"""The hosted connect page in a real browser: headless Chromium, driven by Playwright.

An application (a team's API key) asks for a connect session for its end user `user-42`; the
browser opens the link, fills a form (or goes through the sandbox's OAuth consent), and the
application then finds the connection and runs an action with it. Everything runs over real
sockets: plughub's server under uvicorn, the sandbox API with its own OAuth 2.0 provider.

Without /usr/bin/chromium or the `playwright` package these tests skip, except under CI=true,
where they fail.
"""

from __future__ import annotations

import importlib.util
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from plughub.config import Settings
from plughub.engine import Engine
from plughub.sandbox import SandboxServer
from plughub.server import create_app
from tests.conftest import CANARY_API_KEY, CANARY_PASSWORD, CANARY_TOKEN
from tests.servers import free_port, serve_app

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Response

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CLIENT_ID = "connect-page-client"
CLIENT_SECRET = "secret-connect-page-client-3e5f7a9c1b2d"
END_USER = "user-42"
SECRETS = (CANARY_API_KEY, CANARY_TOKEN, CANARY_PASSWORD, CLIENT_SECRET)


def _missing_browser() -> str | None:
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is missing (apt-get install -y chromium)"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium, shared by the module (each test opens its own context)."""
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
class Recorder:
    """Every response a page received, with its body where there is one."""

    seen: list[tuple[str, int, bytes]] = field(default_factory=list)

    def __call__(self, response: Response) -> None:
        try:
            body = response.body()
        except Exception:  # redirects and aborted loads have no body
            body = b""
        self.seen.append((response.url, response.status, body))

    def leaks(self, needles: tuple[str, ...]) -> list[str]:
        return [f"{url} ({status})" for url, status, body in self.seen for n in needles if n.encode() in body]


@pytest.fixture
def page(browser: Browser) -> Iterator[tuple[Page, Recorder]]:
    context = browser.new_context()
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    recorder = Recorder()
    tab.on("response", recorder)
    try:
        yield tab, recorder
    finally:
        context.close()


@dataclass
class Hub:
    """plughub's server with one team, as an application sees it."""

    url: str
    engine: Engine
    api: httpx.Client
    sandbox: SandboxServer
    team_id: str

    def new_session(self, schemes: list[str] | None = None, end_user_id: str = END_USER) -> str:
        body = {"integration_id": "sandbox", "schemes": schemes or ["API_KEY", "OAUTH2"], "end_user_id": end_user_id}
        answer = self.api.post("/v1/connect-sessions", json=body)
        assert answer.status_code == 201, answer.text
        url = answer.json()["url"]
        assert url.startswith(f"{self.url}/connect/")
        return str(url)

    def connections(self, end_user_id: str = END_USER) -> list[dict[str, Any]]:
        answer = self.api.get("/v1/connections", params={"end_user_id": end_user_id})
        assert answer.status_code == 200, answer.text
        for needle in SECRETS:
            assert needle not in answer.text
        return list(answer.json()["results"])

    def whoami(self, connection_id: str) -> dict[str, Any]:
        answer = self.api.post(f"/v1/connections/{connection_id}/actions/SANDBOX_WHOAMI/run", json={"inputs": {}})
        assert answer.status_code == 200, answer.text
        return dict(answer.json())


@pytest.fixture
def hub(home: Path, sandbox: SandboxServer) -> Iterator[Hub]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = Settings(
        home=home, callback_url=f"{base}/oauth/callback", public_url=base, allow_private_networks="127.0.0.0/8"
    )
    engine = Engine(settings, guard_outbound=True)
    engine.teams.create_team("Acme", team_id="acme")
    _record, key = engine.teams.create_api_key("acme", "connect page tests")
    sandbox.register_oauth_client(CLIENT_ID, CLIENT_SECRET, settings.callback_url)
    try:
        with (
            serve_app(create_app(engine), port=port) as url,
            httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=15) as api,
        ):
            assert url == base
            stored = api.put(
                "/v1/integrations/sandbox/oauth-app", json={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
            )
            assert stored.status_code == 200, stored.text
            yield Hub(url, engine, api, sandbox, "acme")
    finally:
        engine.close()


def _no_secret_in(page: Page, recorder: Recorder, needles: tuple[str, ...] = SECRETS) -> None:
    assert any(body for _url, _status, body in recorder.seen), "the recorder saw no response body"
    html = page.content()
    assert [n for n in needles if n in html] == []
    assert recorder.leaks(needles) == []


# Static schemes


def test_api_key_through_the_connect_page(hub: Hub, page: tuple[Page, Recorder]) -> None:
    tab, recorder = page
    url = hub.new_session()
    opened = tab.goto(url)
    assert opened is not None and opened.status == 200
    assert tab.title() == "Connect plughub Sandbox"
    assert tab.locator("form").count() == 2
    assert tab.locator("#form-API_KEY").count() == 1
    assert tab.locator("#form-OAUTH2").count() == 1
    assert tab.locator("#API_KEY-api_key").get_attribute("type") == "password"
    assert tab.locator("#API_KEY-api_key").get_attribute("required") is not None
    # The page's Content-Security-Policy lets its own style sheet apply.
    assert "system-ui" in tab.evaluate("getComputedStyle(document.body).fontFamily")

    tab.fill("#API_KEY-api_key", CANARY_API_KEY)
    tab.fill("#API_KEY-port", str(hub.sandbox.port))
    with tab.expect_navigation():
        tab.click("#submit-API_KEY")
    assert tab.locator("#result").inner_text() == "Connected"
    assert "plughub Sandbox is connected" in tab.locator("#message").inner_text()

    [connection] = hub.connections()
    assert connection["end_user_id"] == END_USER
    assert connection["scheme"] == "API_KEY"
    assert connection["status"] == "active"
    result = hub.whoami(connection["id"])
    assert result["status"] == "SUCCESS", result
    assert result["data"] == {"scheme": "API_KEY", "user": "demo"}
    assert hub.sandbox.received[-1].headers["X-Api-Key"] == CANARY_API_KEY

    _no_secret_in(tab, recorder)
    assert [status for url, status, _body in recorder.seen if not url.endswith(".css")] == [200, 200]


def test_a_used_link_shows_already_used(hub: Hub, page: tuple[Page, Recorder]) -> None:
    tab, recorder = page
    url = hub.new_session(["API_KEY"])
    tab.goto(url)
    tab.fill("#API_KEY-api_key", CANARY_API_KEY)
    tab.fill("#API_KEY-port", str(hub.sandbox.port))
    with tab.expect_navigation():
        tab.click("#submit-API_KEY")
    assert tab.locator("#result").inner_text() == "Connected"

    again = tab.goto(url)
    assert again is not None and again.status == 410
    assert tab.locator("#result").inner_text() == "The connection failed"
    assert "already used" in tab.locator("#message").inner_text()
    assert tab.locator("form").count() == 0
    assert len(hub.connections()) == 1
    _no_secret_in(tab, recorder)


def test_an_expired_link_shows_expired(hub: Hub, page: tuple[Page, Recorder]) -> None:
    tab, _recorder = page
    token, _expires_at = hub.engine.teams.create_connect_session(
        hub.team_id, "sandbox", ["API_KEY"], END_USER, ttl=timedelta(minutes=-1)
    )
    opened = tab.goto(f"{hub.url}/connect/{token}")
    assert opened is not None and opened.status == 410
    assert "expired" in tab.locator("#message").inner_text()
    assert tab.locator("form").count() == 0


def test_an_unknown_link_is_not_found(hub: Hub, page: tuple[Page, Recorder]) -> None:
    tab, _recorder = page
    opened = tab.goto(f"{hub.url}/connect/{secrets.token_urlsafe(32)}")
    assert opened is not None and opened.status == 404
    assert "not valid" in tab.locator("#message").inner_text()


def test_a_missing_field_re_renders_the_form_with_an_error(hub: Hub, page: tuple[Page, Recorder]) -> None:
    tab, recorder = page
    url = hub.new_session()
    tab.goto(url)
    # The browser would refuse an empty required field; a person with devtools would not.
    tab.evaluate("document.getElementById('API_KEY-api_key').removeAttribute('required')")
    tab.fill("#API_KEY-port", str(hub.sandbox.port))
    with tab.expect_navigation() as navigation:
        tab.click("#submit-API_KEY")
    assert 400 <= navigation.value.status < 500, navigation.value.status
    assert tab.locator("#error").count() == 1
    assert "api_key" in tab.locator("#error").inner_text()
    assert tab.locator("form").count() == 2
    assert tab.locator("#API_KEY-port").input_value() == str(hub.sandbox.port)  # non-secret values kept
    assert hub.connections() == []

    # The same link still works once the field is filled.
    tab.fill("#API_KEY-api_key", CANARY_API_KEY)
    with tab.expect_navigation():
        tab.click("#submit-API_KEY")
    assert tab.locator("#result").inner_text() == "Connected"
    [connection] = hub.connections()
    assert hub.whoami(connection["id"])["data"] == {"scheme": "API_KEY", "user": "demo"}
    _no_secret_in(tab, recorder)


def test_a_refused_submit_never_echoes_a_secret(hub: Hub, page: tuple[Page, Recorder]) -> None:
    """BASIC with the password filled and the username left out: the error page keeps no password."""
    tab, recorder = page
    tab.goto(hub.new_session(["BASIC"]))
    assert tab.locator("#BASIC-password").get_attribute("type") == "password"
    assert tab.locator("#BASIC-username").get_attribute("type") == "text"
    tab.evaluate("document.getElementById('BASIC-username').removeAttribute('required')")
    tab.fill("#BASIC-password", CANARY_PASSWORD)
    tab.fill("#BASIC-port", str(hub.sandbox.port))
    with tab.expect_navigation() as navigation:
        tab.click("#submit-BASIC")
    assert 400 <= navigation.value.status < 500
    assert tab.locator("#error").count() == 1
    assert tab.locator("#BASIC-password").input_value() == ""
    assert hub.connections() == []
    _no_secret_in(tab, recorder)


# OAuth


def test_oauth2_through_the_connect_page(hub: Hub, page: tuple[Page, Recorder]) -> None:
    tab, recorder = page
    hub.new_session()  # a first session, unused: sessions are independent
    url = hub.new_session()
    tab.goto(url)
    tab.fill("#OAUTH2-port", str(hub.sandbox.port))
    with tab.expect_navigation(url=re.compile(re.escape(hub.sandbox.url) + r"/oauth2/authorize\?")):
        tab.click("#submit-OAUTH2")
    assert tab.title() == "Consent"
    assert CLIENT_ID in tab.locator("h1").inner_text()
    # Before consent the connection exists, pending, for the end user.
    [pending] = hub.connections()
    assert pending["status"] == "pending", pending

    with tab.expect_navigation(url=re.compile(re.escape(hub.url) + r"/oauth/callback\?")):
        tab.click("button[value=approve]")
    assert tab.locator("#result").inner_text() == "Connected"
    assert "plughub Sandbox is connected" in tab.locator("#message").inner_text()
    assert hub.sandbox.oauth2.token_requests == {"authorization_code": 1}

    [connection] = hub.connections()
    assert connection["id"] == pending["id"]
    assert connection["end_user_id"] == END_USER
    assert connection["scheme"] == "OAUTH2"
    assert connection["status"] == "active"
    result = hub.whoami(connection["id"])
    assert result["status"] == "SUCCESS", result
    assert result["data"] == {"scheme": "OAUTH2", "user": "demo"}

    tokens = tuple(hub.sandbox.oauth2.issued_tokens())
    assert tokens
    _no_secret_in(tab, recorder, SECRETS + tokens)

    again = tab.goto(url)
    assert again is not None and again.status == 410


# CSRF (a plain HTTP client: a browser would always send the cookie it was given)


def _form_fields(html: str) -> dict[str, str]:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None, html
    return {"csrf_token": found.group(1), "scheme": "API_KEY", "api_key": CANARY_API_KEY}


def test_csrf_is_enforced(hub: Hub) -> None:
    url = hub.new_session(["API_KEY"])
    with httpx.Client(timeout=15) as visitor:
        opened = visitor.get(url)
        assert opened.status_code == 200
        assert "plughub_csrf" in visitor.cookies
        cookie = opened.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        fields = {**_form_fields(opened.text), "port": str(hub.sandbox.port)}

        # The right token in the form, but no cookie: a cross-site post.
        with httpx.Client(timeout=15) as stranger:
            refused = stranger.post(url, data=fields)
        assert refused.status_code == 403
        assert "did not come from this page" in refused.text

        # The cookie, but a wrong token in the form.
        wrong = visitor.post(url, data={**fields, "csrf_token": secrets.token_urlsafe(32)})
        assert wrong.status_code == 403
        # The cookie, and no token at all.
        missing = visitor.post(url, data={k: v for k, v in fields.items() if k != "csrf_token"})
        assert missing.status_code == 403
        for answer in (refused, wrong, missing):
            assert CANARY_API_KEY not in answer.text
        assert hub.connections() == []

        # A control: cookie and token together connect, so the refusals were about CSRF only.
        accepted = visitor.post(url, data=fields)
        assert accepted.status_code == 200, accepted.text
        assert "Connected" in accepted.text
    [connection] = hub.connections()
    assert connection["end_user_id"] == END_USER


def test_a_scheme_the_session_does_not_offer_is_refused(hub: Hub) -> None:
    url = hub.new_session(["OAUTH2"])
    with httpx.Client(timeout=15) as visitor:
        opened = visitor.get(url)
        fields = {**_form_fields(opened.text), "port": str(hub.sandbox.port)}
        refused = visitor.post(url, data=fields)  # scheme=API_KEY, not offered
    assert refused.status_code == 400
    assert CANARY_API_KEY not in refused.text
    assert hub.connections() == []
