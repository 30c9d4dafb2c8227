"""What `/mcp` refuses before MCP runs (batches, unknown versions, foreign origins, loops), and what it sends
to which protocol version."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import httpx
import pytest

from plughub.enums import AuthenticationSchema, ResponseStatus
from plughub.exceptions import UpstreamStatusError
from plughub.schemas import ConnectRequest
from plughub.server import create_app
from tests.mcp_server.conftest import Hub, assert_no_canary
from tests.mcp_server.test_http import ACCEPT, INITIALIZE, _session
from tests.servers import serve_app
from tests.upstream import Upstream

WHOAMI = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "ACME_ISSUES_WHOAMI", "arguments": {}}}
SUPPORTED = "2024-11-05, 2025-03-26, 2025-06-18, 2025-11-25, 2026-07-28"
LOOPED = (
    "the request looped back to a plughub server it had passed through (an MCP connection that points at its "
    "own server's /mcp, directly or through other plughub servers). Point the connection at another MCP server."
)
CAME_BACK = (
    "this MCP request came back to a plughub server it had passed through (the Plughub-Via header names it): an "
    "MCP connection points at its own server's /mcp, directly or through other plughub servers. Point it at "
    "another MCP server."
)


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


def _self_connection(hub: Hub) -> str:
    """Team A's MCP connection to its own server's /mcp, with team A's key."""
    request = ConnectRequest(
        integration_id="mcp",
        scheme=AuthenticationSchema.BEARER_TOKEN,
        name="Myself",
        data={"url": hub.url + "/mcp", "token": hub.a.key},
    )
    return hub.engine.connections.create(request, team=hub.a.id).id


def test_an_mcp_connection_to_its_own_server_is_refused_at_once(hub: Hub, upstream: Upstream) -> None:
    myself = _self_connection(hub)
    with pytest.raises(UpstreamStatusError) as listing:
        hub.engine.actions.list(myself, team=hub.a.id)
    origin = hub.url
    assert listing.value.message == f"the MCP server at {origin} answered HTTP 508: {LOOPED}"
    run = hub.engine.actions.run(myself, "ACME_ISSUES_WHOAMI", {}, team=hub.a.id)
    assert run.status is ResponseStatus.FAILED and run.error_message == listing.value.message

    # An MCP client of the team lists the tools: the team's connections include the looping one, whose
    # listing is refused at its first return; nothing recurses.
    from mcp.shared.exceptions import MCPError

    async def list_tools(client: Any) -> Any:
        with pytest.raises(MCPError) as raised:
            await client.list_tools()
        return raised.value

    error = _session(hub.url + "/mcp", list_tools, hub.a.auth)
    assert error.message == f"plughub could not list the tools: {listing.value.message}"
    assert_no_canary(error.message, run)
    assert hub.a.key not in error.message and hub.a.key not in (run.error_message or "")
    assert upstream.seen == []


def test_the_via_header_of_other_plughub_servers_is_accepted_up_to_a_limit(hub: Hub) -> None:
    from plughub import via

    assert _post(hub, WHOAMI, **{via.HEADER: "0123456789ab"}).status_code == 200  # another server's request
    chain = ", ".join(f"{n:012x}" for n in range(via.MAX_HOPS))
    refused = _post(hub, WHOAMI, **{via.HEADER: chain})
    assert refused.status_code == 508
    assert refused.json() == {
        "error": "mcp_loop",
        "message": f"this MCP request has passed through {via.MAX_HOPS} plughub servers (the Plughub-Via header), "
        "the most allowed: MCP connections between plughub servers make a loop or a chain too long.",
        "details": {},
    }
    came_back = _post(hub, WHOAMI, **{via.HEADER: f"0123456789ab, {via.PROCESS_ID}"})
    assert (came_back.status_code, came_back.json()["message"]) == (508, CAME_BACK)


def test_a_get_is_answered_at_once_with_405(hub: Hub) -> None:
    # Stateless /mcp has no stream of server-initiated messages: the spec's answer is 405, not a held request.
    response = httpx.get(hub.url + "/mcp", headers={"Accept": "text/event-stream", **hub.a.auth}, timeout=10)
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert response.json()["error"] == "method_not_allowed"
