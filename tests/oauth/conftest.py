"""OAuth end-to-end fixtures: a callback URL, the sandbox's providers with a client, a browser.

Everything runs over real sockets: the sandbox's Authlib providers on 127.0.0.1, plughub's engine
on a per-test `PLUGHUB_HOME`, and a tiny "browser" that fetches the consent page and posts the
decision the way a user would.
"""

from __future__ import annotations

import copy
import socket
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import pytest
import yaml

import plughub
from plughub.config import Settings
from plughub.engine import Engine
from plughub.enums import AuthenticationSchema
from plughub.factories import IntegrationFactory, ModelFactory
from plughub.modules.model import ModelResponse
from plughub.modules.model.connection import ConnectionTool
from plughub.modules.model.integration import Integration
from plughub.sandbox import SandboxServer

CLIENT_ID = "client-1"
CLIENT_SECRET = "secret-oauth-client-5a7c9e1b3d2f4a6c8e0b"
M2M_CLIENT_ID = "m2m-client"
M2M_SECRET = "secret-m2m-client-0f1e2d3c4b5a69788796"
SANDBOX_YAML = Path(plughub.__file__).parent / "engine" / "catalog" / "providers" / "sandbox.yaml"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def callback_url(monkeypatch: pytest.MonkeyPatch, home: Path) -> str:
    """`PLUGHUB_CALLBACK_URL` on a free loopback port (set before any engine reads settings)."""
    url = f"http://127.0.0.1:{free_port()}/oauth/callback"
    monkeypatch.setenv("PLUGHUB_CALLBACK_URL", url)
    return url


@pytest.fixture
def settings(home: Path, callback_url: str) -> Settings:
    """The root `settings`, but read after `PLUGHUB_CALLBACK_URL` is set."""
    return Settings.from_env()


@pytest.fixture
def sb(sandbox: SandboxServer, callback_url: str) -> SandboxServer:
    """The sandbox with `CLIENT_ID` registered at both providers (Basic auth at the token endpoint)."""
    sandbox.register_oauth_client(CLIENT_ID, CLIENT_SECRET, callback_url)
    return sandbox


@pytest.fixture
def integ(backend: Any, sb: SandboxServer) -> Integration:
    """The sandbox integration with its OAuth app stored."""
    integration = IntegrationFactory.get("sandbox")
    integration.set_oauth_app(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    return integration


# The browser


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.method: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "form" and self.action is None:
            found = dict(attrs)
            self.action, self.method = found.get("action"), (found.get("method") or "get").lower()


def form_action(page: str) -> str:
    """The consent form's action, HTML-unescaped (html.parser unescapes attribute values)."""
    parser = _FormParser()
    parser.feed(page)
    assert parser.action is not None, f"no form on the page: {page[:300]}"
    assert parser.method == "post"
    return parser.action


def consent(redirect_url: str, decision: str = "approve", *, follow: bool = False) -> httpx.Response:
    """Play the user: open the consent page and press a button.

    Returns the provider's answer to the decision (a 302 to the callback unless `follow`), or
    its answer to the page itself when the provider redirects at once (an invalid request).
    """
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(redirect_url))
    with httpx.Client(follow_redirects=False, timeout=10) as client:
        page = client.get(redirect_url)
        if page.status_code in (302, 303):
            if follow:
                return client.get(page.headers["location"])
            return page
        assert page.status_code == 200, page.text
        answer = client.post(origin + form_action(page.text), data={"decision": decision})
        if follow and answer.status_code in (302, 303):
            return client.get(answer.headers["location"])
        return answer


def approve(redirect_url: str, decision: str = "approve") -> str:
    """The callback URL the provider sends the browser to after the decision."""
    answer = consent(redirect_url, decision)
    assert answer.status_code == 302, answer.text
    return str(answer.headers["location"])


def callback_params(location: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(location).query, keep_blank_values=True))


def with_params(location: str, drop: tuple[str, ...] = (), **changes: str) -> str:
    """The callback URL with some parameters changed or removed."""
    parts = urlsplit(location)
    params = {k: v for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in drop}
    params.update(changes)
    return urlunsplit(parts._replace(query=urlencode(params)))


# Connecting


def connect(integration: Integration, scheme: AuthenticationSchema, **data: Any) -> ModelResponse:
    """`Integration.connect` for an OAuth scheme, expecting its UserWarning with the consent URL."""
    with pytest.warns(UserWarning, match="visit the following URL") as record:
        response = integration.connect(scheme, data=data)
    assert response.data["redirectURL"] in str(record[0].message)
    return response


def reconnect(tool: ConnectionTool, scopes: list[str] | None = None) -> ModelResponse:
    with pytest.warns(UserWarning, match="visit the following URL"):
        return tool.reconnect(scopes)


def authorize(
    integration: Integration, scheme: AuthenticationSchema = AuthenticationSchema.OAUTH2, **data: Any
) -> ConnectionTool:
    """Connect, approve, complete: an active connection."""
    response = connect(integration, scheme, **data)
    tool = plughub.complete_authorization(approve(response.data["redirectURL"]))
    assert tool.id == response.data["id"]
    return tool


def tool_of(connection_id: str) -> ConnectionTool:
    tool = ModelFactory.get(connection_id)
    assert isinstance(tool, ConnectionTool)
    return tool


# Definition copies


def sandbox_copy(
    new_id: str,
    *,
    oauth2: dict[str, Any] | None = None,
    oauth1: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The sandbox definition under another id (actions renamed), with OAuth entries changed."""
    definition = copy.deepcopy(yaml.safe_load(SANDBOX_YAML.read_text(encoding="utf-8")))
    prefix = new_id.upper().replace("-", "_") + "_"
    definition["id"] = new_id
    definition["display_name"] = f"Sandbox copy {new_id}"
    definition["actions"] = {
        prefix + code.removeprefix("SANDBOX_"): action for code, action in definition["actions"].items()
    }
    for entry in definition["auth"]:
        if entry["mode"] == "OAUTH2" and oauth2:
            entry.update(oauth2)
        if entry["mode"] == "OAUTH1" and oauth1:
            entry.update(oauth1)
    return definition


def create_copy(
    new_id: str, client_id: str = CLIENT_ID, client_secret: str = CLIENT_SECRET, **changes: Any
) -> Integration:
    """Register a sandbox copy and store its OAuth app."""
    integration = IntegrationFactory.create(sandbox_copy(new_id, **changes))
    integration.set_oauth_app(client_id=client_id, client_secret=client_secret)
    return integration


# Engine internals (to set up situations a test cannot wait for)


def stored_credentials(engine: Engine, connection_id: str) -> dict[str, Any]:
    engine.store.db.cache.clear()  # other processes may have written: read the database itself
    stored = engine.credentials.read(connection_id)
    assert stored
    return stored


def rewrite_credentials(engine: Engine, connection_id: str, **changes: Any) -> None:
    """Seal and store the connection's credentials with some values changed."""
    data = {**stored_credentials(engine, connection_id), **changes}
    engine.credentials.write(
        lambda seal: engine.store.credentials.put(connection_id, seal(connection_id, data), connection_id=connection_id)
    )


def expire_stored_token(engine: Engine, connection_id: str) -> None:
    """Make plughub believe the access token expired (the provider still accepts it)."""
    rewrite_credentials(engine, connection_id, expires_at=time.time() - 30)


def row_counts(engine: Engine) -> dict[str, int]:
    """Rows per table that an OAuth flow writes to."""
    from sqlalchemy import func, select

    from plughub.engine.store.tables import connections, credentials, oauth_states

    with engine.store.db.sql_engine.connect() as db:
        return {
            table.name: int(db.execute(select(func.count()).select_from(table)).scalar() or 0)
            for table in (connections, credentials, oauth_states)
        }


def home_bytes(home: Path) -> bytes:
    """Every file under PLUGHUB_HOME, concatenated."""
    return b"\n".join(p.read_bytes() for p in sorted(home.rglob("*")) if p.is_file())


def issued_tokens(sb: SandboxServer) -> list[str]:
    """Every token and token secret the sandbox's providers issued and still hold."""
    found = [*sb.oauth2._access, *sb.oauth2._refresh]
    for credential in sb.oauth1._tokens.values():
        found += [credential.oauth_token, credential.oauth_token_secret]
    return found
