"""No token, token secret, verifier or client secret (a registered one too) in logs, reprs, returned URLs or files."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

import pytest

import plughub
from plughub.backends import get_backend
from plughub.engine import Engine
from plughub.enums import AuthenticationSchema, FunctionType, ResponseStatus
from plughub.exceptions import OAuthStateError
from plughub.factories import IntegrationFactory, ModelFactory
from plughub.modules.model.integration import Integration
from plughub.sandbox import SandboxServer
from tests.mcp_servers import mcp_oauth_server
from tests.oauth.conftest import (
    CLIENT_SECRET,
    approve,
    connect,
    expire_stored_token,
    home_bytes,
    issued_tokens,
    reconnect,
)


def _assert_nowhere(secrets: list[str], texts: dict[str, str], home: Path) -> None:
    """No secret in any of the texts, nor in any file under PLUGHUB_HOME."""
    files = home_bytes(home)
    for secret in secrets:
        assert len(secret) >= 20
        for where, text in texts.items():
            assert secret not in text, f"a secret appears in the {where}"
        assert secret.encode() not in files, "a secret appears in a file under PLUGHUB_HOME"


# Loggers of the Authlib server classes the sandbox's provider is built on.
_PROVIDER_LOGGERS = ("authlib.oauth2.rfc6749.grants.",)


def test_no_secret_escapes_a_whole_oauth_life(
    engine: Engine,
    integ: Integration,
    sb: SandboxServer,
    home: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)  # the root logger: every logger propagates here
    temporary_secrets: list[str] = []
    create = sb.oauth1._server.create_temporary_credential

    def capture(request: Any) -> Any:
        credential = create(request)
        temporary_secrets.append(credential["oauth_token_secret"])
        return credential

    monkeypatch.setattr(sb.oauth1._server, "create_temporary_credential", capture)

    shown: list[object] = [integ, integ.get_oauth_app(), integ.info, get_backend(), engine]
    urls: list[str] = []
    errors: list[BaseException] = []

    # OAuth 2.0: consent, runs, a proactive and a reactive refresh, a re-consent, a replay, a delete.
    response = connect(integ, AuthenticationSchema.OAUTH2, port=sb.port)
    urls.append(response.data["redirectURL"])
    location = approve(response.data["redirectURL"])
    tool = plughub.complete_authorization(location)
    shown += [response, tool, tool.connection]
    shown.append(tool.run("SANDBOX_WHOAMI"))
    expire_stored_token(engine, tool.id)
    shown.append(tool.run("SANDBOX_CREATE_NOTE", {"text": "leak check"}))
    sb.oauth2.revoke_all_access_tokens()
    shown.append(tool.run("SANDBOX_LIST_NOTES", {"limit": 3}))
    failed = tool.run("SANDBOX_GET_NOTE", {"note_id": 999})
    assert failed.status is ResponseStatus.FAILED
    shown.append(failed)
    again = reconnect(tool)
    urls.append(again.data["redirectURL"])
    shown += [again, plughub.complete_authorization(approve(again.data["redirectURL"])), tool.connection]
    with pytest.raises(OAuthStateError) as replay:
        plughub.complete_authorization(location)
    errors.append(replay.value)
    assert sb.oauth2.token_requests["refresh_token"] == 2

    # OAuth 1.0a: consent and every request shape.
    response1 = connect(integ, AuthenticationSchema.OAUTH1, port=sb.port)
    urls.append(response1.data["redirectURL"])
    tool1 = plughub.complete_authorization(approve(response1.data["redirectURL"]))
    shown += [response1, tool1, tool1.connection]
    shown.append(tool1.run("SANDBOX_WHOAMI"))
    shown.append(tool1.run("SANDBOX_SEARCH_NOTES", {"q": "leak"}))
    shown.append(tool1.run("SANDBOX_LIST_NOTES", {"limit": 2}))

    # Gather every secret before the deletes (the providers keep them anyway).
    secrets = [*issued_tokens(sb), *temporary_secrets, CLIENT_SECRET]
    for request in sb.received:
        if request.path == "/oauth2/token":
            secrets += [v for k, v in parse_qsl(request.body.decode()) if k in ("code_verifier", "refresh_token")]
    assert len(sb.oauth2._access) == 4 and len(sb.oauth2._refresh) == 4 and len(temporary_secrets) == 1
    assert sum(1 for _ in sb.oauth1._tokens) == 1

    shown += [tool.delete(), tool1.delete()]
    assert sb.oauth2.revoked  # the delete did talk to the provider

    # Authlib's server grants log every token they issue at DEBUG; the sandbox's provider keeps
    # that logger at INFO, so nothing is excluded here: every record of the process is checked.
    assert not any(r.name.startswith(_PROVIDER_LOGGERS) and r.levelno < logging.INFO for r in caplog.records)
    kept = list(caplog.records)
    assert {r.name.split(".")[0] for r in kept} >= {"plughub", "httpx", "httpcore"}
    texts = {
        "log": "\n".join(caplog.handler.format(r) for r in kept),
        "repr": "\n".join(f"{thing!r}\n{thing!s}" for thing in shown),
        "data": "\n".join(str(getattr(thing, "__dict__", "")) for thing in shown),
        "errors": "\n".join(f"{e!r} {e}" for e in errors),
        "urls": "\n".join(urls + [unquote(u) for u in urls]),
    }
    _assert_nowhere(secrets, texts, home)


def test_no_secret_escapes_an_mcp_server_behind_oauth(
    engine: Engine,
    backend: object,
    sandbox: SandboxServer,
    home: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    mcp = IntegrationFactory.get("mcp")
    shown: list[object] = [mcp, mcp.info]
    urls: list[str] = []
    with mcp_oauth_server(sandbox.oauth2, sandbox.url) as server:
        # Discovery, registration, consent, runs, a proactive and a reactive refresh, an expiry, a
        # reconnect, a tool error, a replay, a delete.
        response = connect(mcp, AuthenticationSchema.OAUTH2, url=server.http_url)
        urls.append(response.data["redirectURL"])
        location = approve(response.data["redirectURL"])
        tool = plughub.complete_authorization(location)
        shown += [response, tool, tool.connection, tool.actions, tool.run("add", {"a": 1, "b": 2})]
        expire_stored_token(engine, tool.id)
        shown.append(tool.run("shout", {"text": "leak check"}))
        sandbox.oauth2.revoke_all_access_tokens()
        shown += [tool.run("fail", {"reason": "leak check"}), tool.refresh_tools()]
        sandbox.oauth2.revoke_all_grants()
        expired = tool.run("add", {"a": 1, "b": 2})
        assert expired.error_code == "connection_expired"
        shown += [expired, tool.connection]
        again = reconnect(tool)
        urls.append(again.data["redirectURL"])
        shown += [again, plughub.complete_authorization(approve(again.data["redirectURL"])), tool.connection]
        shown += [tool.run("add", {"a": 2, "b": 2}), ModelFactory.list(function_type=FunctionType.MCP_CONNECTION)]
        with pytest.raises(OAuthStateError) as replay:
            plughub.complete_authorization(location)
        assert sandbox.oauth2.token_requests["refresh_token"] == 3

        [client_id] = sandbox.oauth2.registered
        secrets = [*sandbox.oauth2.issued_tokens(), sandbox.oauth2._clients[client_id].client_secret]
        for request in sandbox.received:
            if request.path == "/oauth2/token":
                secrets += [v for k, v in parse_qsl(request.body.decode()) if k in ("code_verifier", "refresh_token")]
        assert len(secrets) >= 10
        shown.append(tool.delete())
        assert sandbox.oauth2.revoked  # the delete revoked the tokens at the discovered revocation endpoint

    texts = {
        "log": "\n".join(caplog.handler.format(r) for r in caplog.records),
        "repr": "\n".join(f"{thing!r}\n{thing!s}" for thing in shown),
        "data": "\n".join(str(getattr(thing, "__dict__", "")) for thing in shown),
        "errors": f"{replay.value!r} {replay.value}",
        "urls": "\n".join(urls + [unquote(u) for u in urls]),
    }
    _assert_nowhere(secrets, texts, home)
