"""What `/mcp` refuses before MCP runs (batches, unknown versions, foreign origins), and what it sends to
which protocol version."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import httpx
import pytest

from plughub.server import create_app
from tests.mcp_server.conftest import Hub
from tests.mcp_server.test_http import ACCEPT, INITIALIZE
from tests.servers import serve_app
from tests.upstream import Upstream

WHOAMI = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "ACME_ISSUES_WHOAMI", "arguments": {}}}
SUPPORTED = "2024-11-05, 2025-03-26, 2025-06-18, 2025-11-25, 2026-07-28"


def _post(hub: Hub, body: Any, **headers: str) -> httpx.Response:
    return httpx.post(
        hub.url + "/mcp", content=json.dumps(body), headers={**ACCEPT, **hub.a.auth, **headers}, timeout=30
    )


@pytest.mark.parametrize("version", [None, "2025-03-26", "2025-06-18"])
def test_a_batch_is_an_invalid_request_that_says_batches_are_gone(hub: Hub, upstream: Upstream, version: Any) -> None:
    headers = {"MCP-Protocol-Version": version} if version else {}
    for batch in ([INITIALIZE], [WHOAMI, {**WHOAMI, "id": 3}], []):
        response = _post(hub, batch, **headers)
        assert response.status_code == 400
        assert response.json() == {
            "jsonrpc": "2.0",
            "id": None,
            "error": {
                "code": -32600,
                "message": "Invalid Request: this server does not accept JSON-RPC batches (a JSON array), which "
                "MCP removed in 2025-06-18; send each request in its own POST",
            },
        }
    assert upstream.seen == []  # nothing ran


@pytest.mark.parametrize("body", [INITIALIZE, WHOAMI])
def test_an_unknown_protocol_version_header_names_the_supported_ones(hub: Hub, upstream: Upstream, body: Any) -> None:
    for version in ("2099-01-01", "latest", ""):
        response = _post(hub, body, **{"MCP-Protocol-Version": version})
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == -32022  # UNSUPPORTED_PROTOCOL_VERSION, as the SDK's own refusal
        assert error["message"] == (
            f"Unsupported protocol version: the MCP-Protocol-Version header says {version!r}; this server "
            f"supports {SUPPORTED}. Send one of them (the version initialize negotiated), or no header for 2025-03-26"
        )
        assert error["data"] == {"supported": SUPPORTED.split(", "), "requested": version}
    assert upstream.seen == []


@pytest.mark.parametrize(
    ("version", "structured"),
    [(None, False), ("2024-11-05", False), ("2025-03-26", False), ("2025-06-18", True), ("2025-11-25", True)],
)
def test_structured_content_goes_only_to_versions_that_have_it(hub: Hub, version: Any, structured: bool) -> None:
    """structuredContent came with 2025-06-18; without a header a server assumes 2025-03-26."""
    response = _post(hub, WHOAMI, **({"MCP-Protocol-Version": version} if version else {}))
    assert response.status_code == 200, response.text
    result = response.json()["result"]
    assert json.loads(result["content"][0]["text"]) == {"login": "octo", "authorization": "***"}
    assert ("structuredContent" in result) is structured
    if structured:
        assert result["structuredContent"] == {"login": "octo", "authorization": "***"}


def test_a_browser_origin_must_be_the_servers_own_or_allowed(hub: Hub) -> None:
    port = hub.url.rsplit(":", 1)[1]
    own = _post(hub, INITIALIZE, Origin=f"http://127.0.0.1:{port}")
    other_host = _post(hub, INITIALIZE, Origin=f"http://localhost:{port}")
    other_port = _post(hub, INITIALIZE, Origin="http://127.0.0.1:1")
    foreign = _post(hub, INITIALIZE, Origin="https://evil.example")
    opaque = _post(hub, INITIALIZE, Origin="null")
    assert own.status_code == 200 and _post(hub, INITIALIZE).status_code == 200  # no Origin: not a browser
    for refused, origin in (
        (other_host, f"http://localhost:{port}"),
        (other_port, "http://127.0.0.1:1"),
        (foreign, "https://evil.example"),
        (opaque, "null"),
    ):
        assert refused.status_code == 403
        assert refused.json() == {
            "error": "origin_not_allowed",
            "message": f"a page at {origin} may not use this server's /mcp (the Origin header is neither this "
            "server's own nor in PLUGHUB_MCP_ALLOWED_ORIGINS)",
            "details": {"origin": origin},
        }
    # A refused origin runs nothing, even with a valid key.
    assert _post(hub, WHOAMI, Origin="https://evil.example").status_code == 403

    settings = dataclasses.replace(
        hub.engine.settings,
        public_url="https://hub.example",
        mcp_allowed_origins=("https://app.example", "http://127.0.0.1:3000"),
    )
    with serve_app(create_app(hub.engine, settings)) as url:

        def status(origin: str) -> int:
            headers = {**ACCEPT, **hub.a.auth, "Origin": origin}
            return httpx.post(url + "/mcp", json=INITIALIZE, headers=headers, timeout=30).status_code

        assert status("https://hub.example") == 200  # PLUGHUB_PUBLIC_URL
        assert status("https://HUB.example:443") == 200  # the same origin, spelled otherwise
        assert status("https://app.example") == 200 and status("http://127.0.0.1:3000") == 200
        assert status("http://hub.example") == 403 and status("https://app.example:8443") == 403
        assert status("http://127.0.0.1:" + url.rsplit(":", 1)[1]) == 200  # still its own Host


def test_the_allowed_origins_setting_is_checked() -> None:
    from plughub.config import Settings
    from plughub.exceptions import ConfigurationError

    read = Settings.from_env({"PLUGHUB_MCP_ALLOWED_ORIGINS": " https://App.example/ , http://127.0.0.1:3000"})
    assert read.mcp_allowed_origins == ("https://app.example", "http://127.0.0.1:3000")
    assert Settings.from_env({"PLUGHUB_MCP_ALLOWED_ORIGINS": "*"}).mcp_allowed_origins == ("*",)
    for bad in ("app.example", "https://app.example/path", "ftp://app.example"):
        with pytest.raises(ConfigurationError) as raised:
            Settings.from_env({"PLUGHUB_MCP_ALLOWED_ORIGINS": bad})
        assert raised.value.message == (
            f"PLUGHUB_MCP_ALLOWED_ORIGINS must list origins such as https://app.example (scheme, host and "
            f"optional port, comma-separated) or be *, not {bad!r}."
        )


def test_any_origin_with_a_star(hub: Hub) -> None:
    settings = dataclasses.replace(hub.engine.settings, mcp_allowed_origins=("*",))
    with serve_app(create_app(hub.engine, settings)) as url:
        headers = {**ACCEPT, **hub.a.auth, "Origin": "https://anywhere.example"}
        assert httpx.post(url + "/mcp", json=INITIALIZE, headers=headers, timeout=30).status_code == 200
