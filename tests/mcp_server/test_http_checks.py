"""What `/mcp` refuses before MCP runs, and what it sends to which protocol version."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.mcp_server.conftest import Hub
from tests.mcp_server.test_http import ACCEPT

WHOAMI = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "ACME_ISSUES_WHOAMI", "arguments": {}}}


def _post(hub: Hub, body: Any, **headers: str) -> httpx.Response:
    return httpx.post(
        hub.url + "/mcp", content=json.dumps(body), headers={**ACCEPT, **hub.a.auth, **headers}, timeout=30
    )


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
