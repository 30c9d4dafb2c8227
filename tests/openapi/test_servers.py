"""Servers -> base_url and connection_config."""

from __future__ import annotations

import json

from plughub.engine.catalog.templates import render
from tests.openapi.docs import oas3, op, run, swagger2

PING = {"/ping": {"get": op(operationId="ping")}}


def test_the_first_server_is_the_base_url() -> None:
    doc = oas3(PING, servers=[{"url": "https://api.example.com/v2/"}, {"url": "https://sandbox.example.com/v2"}])
    result = run(doc)
    assert result.definition["base_url"] == "https://api.example.com/v2"
    assert any("sandbox.example.com" in w for w in result.warnings)


def test_server_variables_become_connection_config_fields() -> None:
    server = {
        "url": "{scheme}://{tenant}.example.com/{base-path}",
        "variables": {
            "scheme": {"enum": ["https", "http"], "default": "https"},
            "tenant": {"default": "demo", "description": "Your tenant"},
            "base-path": {"default": "v1"},
        },
    }
    result = run(oas3(PING, servers=[server]))
    definition = result.definition
    assert definition["base_url"] == (
        "${connection_config.scheme}://${connection_config.tenant}.example.com/${connection_config.base_path}"
    )
    assert definition["connection_config"] == {
        "scheme": {
            "type": "string",
            "description": "Server variable scheme",
            "enum": ["https", "http"],
            "default": "https",
        },
        "tenant": {"type": "string", "description": "Your tenant", "default": "demo"},
        "base_path": {"type": "string", "description": "Server variable base-path", "default": "v1"},
    }
    config = {"scheme": "https", "tenant": "acme", "base_path": "v1"}
    assert render(definition["base_url"], {"connection_config": config}) == "https://acme.example.com/v1"


def test_the_base_url_argument_wins() -> None:
    doc = oas3(PING, servers=[{"url": "https://{region}.example.com", "variables": {"region": {"default": "eu"}}}])
    result = run(doc, base_url="http://127.0.0.1:8080/")
    assert result.definition["base_url"] == "http://127.0.0.1:8080"
    assert "connection_config" not in result.definition


def test_a_relative_server_resolves_against_the_document_url() -> None:
    doc = oas3(PING, servers=[{"url": "/api/v3"}])

    def fetch(url: str) -> bytes:
        assert url == "https://docs.example.com/specs/openapi.json"
        return json.dumps(doc).encode()

    result = run("https://docs.example.com/specs/openapi.json", fetch=fetch)
    assert result.definition["base_url"] == "https://docs.example.com/api/v3"


def test_a_relative_server_without_a_document_url_asks_for_the_root() -> None:
    result = run(oas3(PING, servers=[{"url": "/api/v3"}]))
    assert result.definition["base_url"] == "${connection_config.server_url}/api/v3"
    assert "server_url" in result.definition["connection_config"]
    assert any("relative" in w and "base_url=" in w for w in result.warnings)


def test_no_servers_at_all_means_the_root_path() -> None:
    doc = oas3(PING)
    del doc["servers"]
    result = run(doc)
    assert result.definition["base_url"] == "${connection_config.server_url}"
    assert run(doc, base_url="https://api.example.com").definition["base_url"] == "https://api.example.com"


def test_swagger2_host_base_path_and_schemes() -> None:
    assert run(swagger2(PING)).definition["base_url"] == "https://api.example.com/v1"
    http_only = swagger2(PING, schemes=["http"], basePath="/")
    assert run(http_only).definition["base_url"] == "http://api.example.com"
    no_host = swagger2(PING)
    del no_host["host"]
    assert run(no_host).definition["base_url"] == "${connection_config.server_url}/v1"


def test_an_operation_server_becomes_the_action_base_url() -> None:
    paths = {
        "/heartbeat": {"get": op(operationId="heartbeat", servers=[{"url": "https://api.example.com"}])},
        "/upload": {
            "servers": [{"url": "https://uploads.example.com/{v}", "variables": {"v": {"default": "v2"}}}],
            "post": op(operationId="upload"),
        },
        "/pets": {"get": op(operationId="pets", servers=[{"url": "https://api.example.com/v1/"}])},
    }
    actions = run(oas3(paths)).definition["actions"]
    assert actions["PET_SHOP_HEARTBEAT"]["base_url"] == "https://api.example.com"
    assert actions["PET_SHOP_UPLOAD"]["base_url"] == "https://uploads.example.com/v2"
    assert "base_url" not in actions["PET_SHOP_PETS"]  # the same as the definition's
    moved = run(oas3(paths), base_url="http://127.0.0.1:9000/v1").definition["actions"]
    assert moved["PET_SHOP_HEARTBEAT"]["base_url"] == "http://127.0.0.1:9000"  # same origin: moves along
    assert moved["PET_SHOP_UPLOAD"]["base_url"] == "https://uploads.example.com/v2"


def test_an_https_twin_is_preferred_to_an_http_first_server() -> None:
    # The New York Times' document lists http:// first and the same URL with https:// second.
    servers = [{"url": "http://api.example.com/svc/v2"}, {"url": "https://api.example.com/svc/v2"}]
    result = run(oas3(PING, servers=servers))
    assert result.definition["base_url"] == "https://api.example.com/svc/v2"
    assert (
        "servers: using the https twin of the first server, https://api.example.com/svc/v2; also listed: "
        "http://api.example.com/svc/v2"
    ) in result.warnings
    paths = {
        "/upload": {
            "post": op(
                operationId="upload", servers=[{"url": "http://up.example.com"}, {"url": "https://up.example.com/"}]
            )
        }
    }
    actions = run(oas3(paths)).definition["actions"]
    assert actions["PET_SHOP_UPLOAD"]["base_url"] == "https://up.example.com"
    # Without a twin, an http server stays (a service on a private network).
    assert run(oas3(PING, servers=[{"url": "http://localhost:8080/v1"}])).definition["base_url"] == (
        "http://localhost:8080/v1"
    )
