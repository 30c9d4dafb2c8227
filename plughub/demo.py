"""`plughub demo`: the whole path, offline, in a temporary home.

It starts the sandbox API on 127.0.0.1, connects to it with API_KEY, BEARER_TOKEN, BASIC and
NO_AUTH through the public SDK, runs real actions, shows refused inputs and the expected refusal
of a private route to the NO_AUTH connection, completes OAuth 2.0 and OAuth 1.0a consents against
the sandbox's Authlib providers (an HTTP client posts the consent form where a person would click
Approve), shows a token refresh and the client credentials grant, rotates the data key, and proves
that no secret is stored in clear.
"""

from __future__ import annotations

import json
import secrets
import stat
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from plughub.backends import EmbeddedBackend, reset_backend, set_backend
from plughub.callbacks import complete_authorization
from plughub.config import Settings
from plughub.enums import AuthenticationSchema
from plughub.factories import IntegrationFactory, ModelFactory
from plughub.modules.model.connection import ConnectionTool
from plughub.sandbox import SandboxCredentials, SandboxServer, give_consent

__all__ = ["run_demo"]


def _short(value: Any, limit: int = 110) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 3] + "..."


def run_demo(echo: Callable[[str], None] = print) -> dict[str, Any]:
    """Run the demo and print what happens.

    Args:
        echo: Where lines go (`print` by default).

    Returns:
        A summary: connection ids by scheme, and whether any secret was found on disk.
    """
    with tempfile.TemporaryDirectory(prefix="plughub-demo-") as tmp:
        home = Path(tmp)
        creds = SandboxCredentials(
            api_key="sk_demo_" + secrets.token_urlsafe(18),
            token="tok_demo_" + secrets.token_urlsafe(18),
            username="demo",
            password="pw_demo_" + secrets.token_urlsafe(12),
        )
        backend = EmbeddedBackend(settings=Settings(home=home, retry_attempts=1))
        set_backend(backend)
        try:
            with SandboxServer(creds) as sandbox:
                return _walkthrough(echo, home, creds, sandbox)
        finally:
            reset_backend()


def _walkthrough(
    echo: Callable[[str], None], home: Path, creds: SandboxCredentials, sandbox: SandboxServer
) -> dict[str, Any]:
    echo(f"plughub demo: PLUGHUB_HOME={home} (temporary), sandbox API on {sandbox.url}\n")
    integration = IntegrationFactory.get("sandbox")
    echo(f"1. {integration!r}; schemes: {', '.join(integration.authentication_methods)}")

    inputs = {
        AuthenticationSchema.API_KEY: {"api_key": creds.api_key},
        AuthenticationSchema.BEARER_TOKEN: {"token": creds.token},
        AuthenticationSchema.BASIC: {"username": creds.username, "password": creds.password},
        AuthenticationSchema.NO_AUTH: {},
    }
    tools: dict[str, ConnectionTool] = {}
    echo("\n2. Connect once per scheme, then ask the sandbox who it sees (SANDBOX_WHOAMI, a private route):")
    for scheme, data in inputs.items():
        response = integration.connect(scheme, data={**data, "port": sandbox.port}, name=f"demo {scheme.value}")
        tool = ModelFactory.get(response.data["id"])
        assert isinstance(tool, ConnectionTool)  # noqa: S101 - a connection id always yields a tool
        tools[scheme.value] = tool
        whoami = tool.run("SANDBOX_WHOAMI", {})
        if whoami.status.value == "SUCCESS":
            outcome = _short(whoami.data)
        elif scheme is AuthenticationSchema.NO_AUTH:
            # The route is private and NO_AUTH sends no credentials: a refusal is the right answer.
            outcome = f"refused, as expected without credentials: {whoami.error_message}"
        else:
            outcome = f"FAILED: {whoami.error_message}"
        echo(f"   {scheme.value:<13} connection {tool.id} -> {outcome}")

    api = tools["API_KEY"]
    echo("\n3. Run actions through the API_KEY connection:")
    created = api.run("SANDBOX_CREATE_NOTE", {"text": "Ship plughub", "tags": ["launch"]})
    echo(f"   SANDBOX_CREATE_NOTE -> {_short(created.data)}")
    listed = api.run("SANDBOX_LIST_NOTES", {"limit": 10})
    echo(f"   SANDBOX_LIST_NOTES  -> {_short(listed.data)}")
    fetched = tools["BASIC"].run("SANDBOX_GET_NOTE", {"note_id": created.data["id"]})
    echo(f"   SANDBOX_GET_NOTE (via BASIC) -> {_short(fetched.data)}")
    echoed = tools["NO_AUTH"].run("SANDBOX_ECHO", {"message": "hello from a public route"})
    echo(f"   SANDBOX_ECHO (via NO_AUTH)   -> {_short(echoed.data)}")

    echo("\n4. Bad input is refused before anything is sent:")
    try:
        api.run("SANDBOX_CREATE_NOTE", {"txt": "typo"})
    except ValueError as exc:
        echo(f"   ValueError: {exc}")
    try:
        integration.connect(AuthenticationSchema.BASIC, data={"username": "demo", "port": sandbox.port})
    except ValueError as exc:
        echo(f"   ValueError: {exc}")

    oauth_secrets = _oauth(echo, integration, sandbox)

    echo("\n8. Rotate the data key; every connection still works:")
    engine = _engine()
    count = engine.credentials.rotate()
    again = tools["BEARER_TOKEN"].run("SANDBOX_WHOAMI", {})
    echo(
        f"   re-encrypted {count} records under key {engine.credentials.active_key_id}; "
        f"SANDBOX_WHOAMI via BEARER_TOKEN -> {_short(again.data)}"
    )

    echo("\n9. Secrets on disk:")
    leaked = _scan(home, [creds.api_key, creds.token, creds.password, *oauth_secrets])
    row = engine.store.credentials.get(tools["API_KEY"].id) or b""
    key_file = home / "master.key"
    echo(f"   credentials row of the API_KEY connection: {row[:24].hex()}... ({len(row)} bytes, AES-256-GCM)")
    echo(f"   master key file: {key_file} (mode {stat.S_IMODE(key_file.stat().st_mode):o})")
    files = sorted(p.name for p in home.iterdir())
    echo(f"   scanned {', '.join(files)}: " + ("SECRET FOUND IN CLEAR!" if leaked else "no secret appears in clear"))
    echo("\nDone. The temporary home is deleted now; use `plughub connect` to make real connections.")
    return {"connections": {k: t.id for k, t in tools.items()}, "leaked": leaked}


def _oauth(echo: Callable[[str], None], integration: Any, sandbox: SandboxServer) -> list[str]:
    """Steps 5 to 7: OAuth 2.0 with a refresh, OAuth 1.0a, client credentials. Returns the secrets used."""
    client_id, client_secret = "demo-client", "demo-secret-" + secrets.token_urlsafe(18)
    callback = _engine().settings.callback_url
    sandbox.register_oauth_client(client_id, client_secret, callback)
    sandbox.oauth2.register_client(
        "demo-m2m", client_secret, [callback], ["notes:read"], token_endpoint_auth_method="client_secret_post"
    )
    integration.set_oauth_app(client_id=client_id, client_secret=client_secret)

    echo("\n5. OAuth 2.0 (authorization code with PKCE) against the sandbox's Authlib provider:")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the URL is printed below instead
        pending = integration.connect(AuthenticationSchema.OAUTH2, data={"port": sandbox.port})
    echo(
        f"   connection {pending.data['id']} is {pending.data['status']}; consent page: "
        f"{_short(pending.data['redirectURL'], 90)}"
    )
    callback_url = give_consent(pending.data["redirectURL"])
    echo(
        "   consent given by an HTTP client that fetched the consent page and posted its form with "
        "Approve (a person clicks it in a browser); the provider redirected to the callback with a code"
    )
    tool = complete_authorization(callback_url)
    whoami = _short(tool.run("SANDBOX_WHOAMI", {}).data)
    echo(f"   complete_authorization -> {tool.status.value}; SANDBOX_WHOAMI -> {whoami}")
    sandbox.oauth2.revoke_all_access_tokens()
    again = tool.run("SANDBOX_WHOAMI", {})
    echo(
        f"   the provider revoked the access token: SANDBOX_WHOAMI got 401, one refresh, retry -> {_short(again.data)} "
        f"(refresh requests at the provider: {sandbox.oauth2.token_requests.get('refresh_token', 0)})"
    )

    echo("\n6. OAuth 1.0a (every request signed with HMAC-SHA1):")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        pending = integration.connect(AuthenticationSchema.OAUTH1, data={"port": sandbox.port})
    tool1 = complete_authorization(give_consent(pending.data["redirectURL"]))
    echo(f"   consent posted the same way; connection {tool1.id} is {tool1.status.value}")
    found = tool1.run("SANDBOX_SEARCH_NOTES", {"q": "ship"})
    echo(f"   SANDBOX_SEARCH_NOTES (a signed form POST) -> {_short(found.data)}")

    echo("\n7. OAuth 2.0 client credentials (machine to machine):")
    m2m = IntegrationFactory.get("sandbox-m2m").connect(
        AuthenticationSchema.OAUTH2,
        data={"port": sandbox.port, "client_id": "demo-m2m", "client_secret": client_secret},
    )
    machine = ModelFactory.get(m2m.data["id"])
    assert isinstance(machine, ConnectionTool)  # noqa: S101 - a connection id always yields a tool
    echo(f"   connection {machine.id}: SANDBOX_M2M_WHOAMI -> {_short(machine.run('SANDBOX_M2M_WHOAMI', {}).data)}")
    return [client_secret, *sandbox.oauth2.issued_tokens()]


def _engine() -> Any:
    from plughub.backends import get_backend

    backend = get_backend()
    assert isinstance(backend, EmbeddedBackend)  # noqa: S101 - the demo installs an embedded backend
    return backend.engine


def _scan(home: Path, secrets_: list[str]) -> bool:
    """Whether any secret occurs in any file under `home` (the WAL included)."""
    for path in home.rglob("*"):
        if path.is_file():
            raw = path.read_bytes()
            if any(s.encode() in raw for s in secrets_):
                return True
    return False
