"""`build_request` makes the request httpx would make of the same parts, whichever way it builds it.

A request without a body is built with its headers given whole (httpx's own `Host` and
`Content-Length: 0` written in front, as httpx writes them); these tests pin that it is the same
request as `httpx.Request(method, url, headers=...)`, and that per-action plans follow a definition
that changes.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from plughub.engine.catalog.models import IntegrationSpec
from plughub.engine.http.render import build_request


def _spec(method: str, headers: dict[str, str] | None = None, action_headers: dict[str, str] | None = None) -> Any:
    return IntegrationSpec.model_validate(
        {
            "id": "acme",
            "display_name": "Acme",
            "description": "Acme.",
            "categories": ["testing"],
            "base_url": "https://api.acme.test/v1",
            "headers": headers or {},
            "auth": [{"mode": "BEARER_TOKEN"}],
            "actions": {
                "ACME_CALL": {
                    "display_name": "Call",
                    "description": "Call.",
                    "method": method,
                    "path": "/items/${inputs.item_id}",
                    "headers": action_headers or {},
                    "inputs": {
                        "item_id": {"type": "string", "in": "path", "required": True, "description": "Id"},
                        "verbose": {"type": "boolean", "in": "query", "description": "More"},
                        "trace": {"type": "string", "in": "header", "alias": "X-Trace", "description": "Trace"},
                    },
                }
            },
        }
    )


def _as_httpx(request: httpx.Request) -> httpx.Request:
    """The same request built by httpx from its parts (without the headers httpx adds itself)."""
    given = [(k, v) for k, v in request.headers.raw if k.lower() not in (b"host", b"content-length")]
    return httpx.Request(request.method, request.url, headers=given)


@pytest.mark.parametrize("method", ["GET", "DELETE", "HEAD", "POST", "PUT", "PATCH"])
@pytest.mark.parametrize("inputs", [{"item_id": "a/b"}, {"item_id": "42", "verbose": True, "trace": "t-1"}])
def test_a_request_without_a_body_is_what_httpx_makes(method: str, inputs: dict[str, Any]) -> None:
    spec = _spec(method, {"X-Team": "${connection_config.team}", "Accept": "text/plain"}, {"X-Kind": "item"})
    request = build_request(spec, spec.actions["ACME_CALL"], inputs, {"team": "blue"})
    expected = _as_httpx(request)
    assert request.headers.raw == expected.headers.raw
    assert request.content == expected.content == b""
    assert b"".join(request.stream) == b""  # type: ignore[arg-type]
    assert request.url == expected.url
    assert request.headers.raw[0] == (b"Host", b"api.acme.test")
    assert ((b"Content-Length", b"0") in request.headers.raw) is (method in ("POST", "PUT", "PATCH"))


def test_the_headers_of_a_plan_are_not_shared_between_requests() -> None:
    spec = _spec("GET", {"X-Static": "yes"})
    action = spec.actions["ACME_CALL"]
    first = build_request(spec, action, {"item_id": "1", "trace": "one"}, {})
    second = build_request(spec, action, {"item_id": "2"}, {})
    assert first.headers["X-Trace"] == "one"
    assert "X-Trace" not in second.headers
    assert second.headers["X-Static"] == "yes"
    assert second.headers["Accept"] == "application/json"


def test_a_changed_definition_gets_a_plan_of_its_own() -> None:
    before = _spec("GET", {"X-Version": "1"})
    after = _spec("GET", {"X-Version": "2"})
    assert build_request(before, before.actions["ACME_CALL"], {"item_id": "1"}, {}).headers["X-Version"] == "1"
    assert build_request(after, after.actions["ACME_CALL"], {"item_id": "1"}, {}).headers["X-Version"] == "2"


def test_a_templated_header_follows_each_connection() -> None:
    spec = _spec("GET", {"X-Team": "${connection_config.team}"})
    action = spec.actions["ACME_CALL"]
    assert build_request(spec, action, {"item_id": "1"}, {"team": "blue"}).headers["X-Team"] == "blue"
    assert build_request(spec, action, {"item_id": "1"}, {"team": "red"}).headers["X-Team"] == "red"
