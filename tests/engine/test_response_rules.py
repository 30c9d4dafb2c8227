"""Response rules (DESIGN.md §9): a 2xx answer the definition calls an error is FAILED `upstream_error`."""

from __future__ import annotations

from typing import Any

import pytest

from plughub import AuthenticationSchema, ConnectionTool, IntegrationFactory, ModelFactory, ResponseStatus
from plughub.engine.catalog import parse_definition
from plughub.exceptions import CatalogError, UpstreamError, error_class
from tests.conftest import CANARY_TOKEN
from tests.upstream import Reply, Upstream

pytestmark = pytest.mark.usefixtures("any_backend")

SLACK_RULE = {"error_when": {"pointer": "/ok", "equals": False}, "error_message": "/error"}
GRAPHQL_RULE = {"error_when": {"pointer": "/errors/0", "exists": True}, "error_message": "/errors/0/message"}


def _definition(base_url: str, actions: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "id": "chat-api",
        "display_name": "Chat API",
        "base_url": base_url,
        "auth": [{"mode": "BEARER_TOKEN"}],
        "actions": actions,
        **extra,
    }


def _connect(definition: dict[str, Any]) -> ConnectionTool:
    integration = IntegrationFactory.create(definition)
    response = integration.connect(AuthenticationSchema.BEARER_TOKEN, data={"token": CANARY_TOKEN})
    tool = ModelFactory.get(response.data["id"])
    assert isinstance(tool, ConnectionTool)
    return tool


POST = {
    "CHAT_API_POST": {
        "display_name": "Post",
        "method": "POST",
        "path": "/chat.postMessage",
        "inputs": {"channel": {"type": "string"}},
    }
}


def test_a_slack_like_200_error_is_failed_with_the_providers_message(upstream: Upstream) -> None:
    upstream.route("POST", "/chat.postMessage", Reply(200, {"ok": False, "error": "channel_not_found"}))
    tool = _connect(_definition(upstream.url, POST, response=SLACK_RULE))
    response = tool.run("CHAT_API_POST", {"channel": "C1"})
    assert response.status is ResponseStatus.FAILED
    assert response.error_code == "upstream_error"
    assert "channel_not_found" in response.error_message
    assert response.error_message.startswith("Chat API CHAT_API_POST:")
    assert response.data == {"ok": False, "error": "channel_not_found"}
    assert response.details["status_code"] == 200
    assert response.details["error"] == "channel_not_found"
    assert error_class(response.error_code) is UpstreamError


def test_an_answer_that_does_not_match_stays_a_success(upstream: Upstream) -> None:
    upstream.route("POST", "/chat.postMessage", Reply(200, {"ok": True, "ts": "1.2"}))
    tool = _connect(_definition(upstream.url, POST, response=SLACK_RULE))
    response = tool.run("CHAT_API_POST", {"channel": "C1"})
    assert response.status is ResponseStatus.SUCCESS, response.error_message
    assert response.data == {"ok": True, "ts": "1.2"}


def test_the_rule_compares_json_values_strictly(upstream: Upstream) -> None:
    # 0 is not false, and "false" is not false: only the JSON value false matches.
    tool = _connect(_definition(upstream.url, POST, response=SLACK_RULE))
    for body in ({"ok": 0}, {"ok": "false"}, {}, ["not", "an", "object"]):
        upstream.route("POST", "/chat.postMessage", Reply(200, body))
        assert tool.run("CHAT_API_POST", {}).status is ResponseStatus.SUCCESS, body


def test_graphql_errors_fail_and_an_empty_errors_list_does_not(upstream: Upstream) -> None:
    query = {
        "CHAT_API_QUERY": {
            "display_name": "Query",
            "method": "POST",
            "path": "/graphql",
            "inputs": {"query": {"type": "string", "required": True}},
        }
    }
    tool = _connect(_definition(upstream.url, query, response=GRAPHQL_RULE))
    upstream.route("POST", "/graphql", Reply(200, {"data": None, "errors": [{"message": "Entity not found: Issue"}]}))
    failed = tool.run("CHAT_API_QUERY", {"query": "{ issue(id: 1) { id } }"})
    assert failed.status is ResponseStatus.FAILED
    assert failed.error_code == "upstream_error"
    assert failed.error_message.endswith("Entity not found: Issue")
    upstream.route("POST", "/graphql", Reply(200, {"data": {"issue": {"id": "1"}}, "errors": []}))
    assert tool.run("CHAT_API_QUERY", {"query": "{ issue(id: 1) { id } }"}).status is ResponseStatus.SUCCESS


def test_an_action_overrides_the_integration_rule(upstream: Upstream) -> None:
    actions = {
        **POST,
        "CHAT_API_RAW": {"display_name": "Raw", "method": "GET", "path": "/raw", "response": {}},
        "CHAT_API_STATUS": {
            "display_name": "Status",
            "method": "GET",
            "path": "/status",
            "response": {"error_when": {"pointer": "/state", "in": ["failed", "error"]}},
        },
    }
    upstream.route("GET", "/raw", Reply(200, {"ok": False}))
    upstream.route("GET", "/status", Reply(200, {"ok": False, "state": "error"}))
    tool = _connect(_definition(upstream.url, actions, response=SLACK_RULE))
    assert tool.run("CHAT_API_RAW", {}).status is ResponseStatus.SUCCESS  # `response: {}` turns the rule off
    status = tool.run("CHAT_API_STATUS", {})
    assert status.status is ResponseStatus.FAILED
    # No error_message pointer: the message says which rule matched.
    assert 'error_when (/state in ["failed", "error"])' in status.error_message


def test_a_message_the_service_echoes_a_secret_in_is_masked(upstream: Upstream) -> None:
    upstream.route("POST", "/chat.postMessage", Reply(200, {"ok": False, "error": f"bad token {CANARY_TOKEN}"}))
    tool = _connect(_definition(upstream.url, POST, response=SLACK_RULE))
    response = tool.run("CHAT_API_POST", {})
    assert response.status is ResponseStatus.FAILED
    assert CANARY_TOKEN not in response.error_message and CANARY_TOKEN not in str(response.to_dict())
    assert "bad token ***" in response.error_message


def test_an_error_status_keeps_its_own_code(upstream: Upstream) -> None:
    upstream.route("POST", "/chat.postMessage", Reply(500, {"ok": False, "error": "fatal"}))
    tool = _connect(_definition(upstream.url, POST, response=SLACK_RULE))
    assert tool.run("CHAT_API_POST", {}).error_code == "upstream_status"


@pytest.mark.parametrize(
    ("response", "problem"),
    [
        ({"error_message": "/error"}, "response: Value error, error_message needs error_when"),
        ({"error_when": {"pointer": "ok", "equals": False}}, "'ok' is not a JSON pointer; write '/ok'"),
        ({"error_when": {"pointer": "/ok"}}, "give exactly one of equals, in or exists"),
        (
            {"error_when": {"pointer": "/ok", "equals": "${config.x}"}},
            "response.error_when.equals: ${config.x} cannot be used here",
        ),
        ({"error_when": {"pointer": "/ok", "equals": False}, "error_message": "error"}, "is not a JSON pointer"),
    ],
)
def test_bad_rules_are_load_errors_naming_the_key(response: dict[str, Any], problem: str) -> None:
    with pytest.raises(CatalogError) as caught:
        parse_definition(_definition("https://chat.example", POST, response=response), source="chat.yaml")
    assert caught.value.message.startswith("chat.yaml: ")
    assert problem in caught.value.message
