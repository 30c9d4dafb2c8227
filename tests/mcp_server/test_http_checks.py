"""What `/mcp` refuses before MCP runs, and what it sends to which protocol version."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.mcp_server.conftest import Hub
from tests.mcp_server.test_http import ACCEPT, INITIALIZE
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
