"""OpenAI Responses API tools and strict mode, checked with the `openai` package's own types.

The Responses API takes `{"type": "function", "name", "description", "parameters", "strict"}`;
chat completions take `{"type": "function", "function": {...}}`. Strict mode (OpenAI's rules): every
property required, an optional one nullable, `additionalProperties: false` on every object, no
keyword outside the supported subset. The model's strict arguments come back as the inputs the
action's own schema describes (nulls for "not given" left out, JSON text parsed).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pydantic import TypeAdapter, ValidationError

from plughub import AuthenticationSchema, ConnectionTool, IntegrationFactory, ModelFactory
from plughub.engine.catalog import Catalog, describe_action
from plughub.schemas import ActionInfo
from plughub.tool_schemas import as_tools, clean_schema, restore_arguments, strict_schema
from tests.conftest import CANARY_API_KEY

openai_types = pytest.importorskip("openai.types.responses", reason="the openai package is not installed")
from openai.types.chat import ChatCompletionToolParam  # noqa: E402
from openai.types.responses import FunctionToolParam  # noqa: E402

RESPONSES = TypeAdapter(FunctionToolParam)
CHAT = TypeAdapter(ChatCompletionToolParam)
INTEGRATIONS = [
    "github", "slack", "stripe", "hubspot", "notion", "jira", "asana", "linear", "trello", "twilio", "zendesk",
    "google-calendar", "sendgrid", "openai", "salesforce", "shopify", "ably", "coda",
]  # fmt: skip
# OpenAI's strict subset: these keywords, and nothing else.
STRICT_KEYWORDS = {
    "type", "properties", "required", "additionalProperties", "items", "enum", "anyOf", "$ref", "$defs",
    "definitions", "description", "pattern", "format", "multipleOf", "maximum", "exclusiveMaximum", "minimum",
    "exclusiveMinimum", "minItems", "maxItems",
}  # fmt: skip


def valid(adapter: TypeAdapter[Any], typed: Any, tool: dict[str, Any]) -> None:
    """Validate with the openai type; a TypedDict ignores unknown keys, so refuse those too."""
    adapter.validate_python(tool)
    assert set(tool) <= typed.__required_keys__ | typed.__optional_keys__, set(tool)


def actions_of(integration_id: str) -> list[ActionInfo]:
    spec = Catalog().spec(integration_id)
    return [describe_action(code, action) for code, action in spec.actions.items()]


def nodes(schema: Any) -> Iterator[dict[str, Any]]:
    if not isinstance(schema, dict):
        return
    yield schema
    for key in ("properties", "$defs", "definitions"):
        for sub in (schema.get(key) or {}).values():
            yield from nodes(sub)
    for sub in schema.get("anyOf") or []:
        yield from nodes(sub)
    yield from nodes(schema.get("items"))


def accepts_null(schema: dict[str, Any]) -> bool:
    return Draft202012Validator(schema).is_valid(None)


def assert_strict(schema: dict[str, Any], original: dict[str, Any], code: str) -> None:
    assert schema["type"] == "object", code
    for node in nodes(schema):
        assert set(node) <= STRICT_KEYWORDS, (code, set(node) - STRICT_KEYWORDS)
        assert "type" in node or "anyOf" in node or "$ref" in node or "enum" in node, (code, node)
        if "properties" in node:
            assert node["additionalProperties"] is False, (code, node)
            assert node["required"] == list(node["properties"]), code
        if node.get("type") == "array":
            assert isinstance(node.get("items"), dict), (code, node)
    Draft202012Validator.check_schema(schema)
    # Every input stays; the optional ones take null (meaning "not given").
    assert list(schema["properties"]) == list(original.get("properties", {})), code
    for name, sub in schema["properties"].items():
        if name not in original.get("required", []):
            assert accepts_null(sub), (code, name, sub)


@pytest.mark.parametrize("integration_id", INTEGRATIONS)
def test_responses_and_chat_tools_of_bundled_integrations_pass_the_openai_types(integration_id: str) -> None:
    actions = actions_of(integration_id)
    assert actions, integration_id
    for strict in (False, True):
        responses = as_tools(actions, "openai-responses", strict=strict)
        chat = as_tools(actions, "openai", strict=strict)
        for tool, info in zip(responses, actions, strict=True):
            valid(RESPONSES, FunctionToolParam, tool)
            assert tool["strict"] is strict and tool["name"] == info.code
            if strict:
                assert_strict(tool["parameters"], info.input_schema, info.code)
        for tool in chat:
            valid(CHAT, ChatCompletionToolParam, tool)
            assert tool["function"].get("strict", False) is strict
        # The chat format is not a Responses tool (the defect this format fixes).
        with pytest.raises(ValidationError):
            RESPONSES.validate_python(chat[0])


def test_every_bundled_action_has_a_strict_schema() -> None:
    catalog = Catalog()
    count = 0
    for integration_id in catalog.ids():
        for info in actions_of(integration_id):
            strict = clean_schema(info.input_schema, "openai-responses", strict=True)
            assert_strict(strict, info.input_schema, info.code)
            count += 1
    assert count > 1000


RICH: dict[str, Any] = {
    "type": "object",
    "required": ["title", "kind"],
    "additionalProperties": False,
    "properties": {
        "title": {"type": "string", "minLength": 1, "maxLength": 200, "description": "The title"},
        "kind": {"const": "issue"},
        "state": {"type": "string", "enum": ["open", "closed"], "default": "open"},
        "labels": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
        "metadata": {"type": "object", "description": "Key-value pairs", "additionalProperties": {"type": "string"}},
        "anything": {"description": "Any value"},
        "due": {"type": ["string", "null"], "format": "date"},
        "assignee": {
            "type": "object",
            "required": ["login"],
            "properties": {"login": {"type": "string"}, "id": {"type": "integer"}},
        },
        "target": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
        "owner": {"allOf": [{"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}]},
    },
}


def test_strict_schema_rules_on_a_rich_schema() -> None:
    strict = clean_schema(RICH, "openai", strict=True)
    assert_strict(strict, RICH, "RICH")
    properties = strict["properties"]
    assert properties["title"] == {"type": "string", "description": "The title"}  # required: not nullable
    assert properties["kind"] == {"enum": ["issue"]}
    assert properties["state"] == {"type": ["string", "null"], "enum": ["open", "closed", None]}
    assert properties["labels"] == {"type": ["array", "null"], "items": {"type": "string"}}
    assert properties["metadata"] == {
        "type": ["string", "null"],
        "description": "Key-value pairs (Write the value as JSON text.)",
    }
    assert properties["anything"]["type"] == ["string", "null"]
    assert properties["due"] == {"type": ["string", "null"], "format": "date"}
    assert properties["assignee"] == {
        "type": ["object", "null"],
        "properties": {"login": {"type": "string"}, "id": {"type": ["integer", "null"]}},
        "required": ["login", "id"],
        "additionalProperties": False,
    }
    assert properties["target"] == {"anyOf": [{"type": "integer"}, {"type": "string"}, {"type": "null"}]}
    assert properties["owner"]["properties"] == {"name": {"type": "string"}}
    assert strict_schema(clean_schema(RICH, "openai")) == strict


def test_strict_arguments_come_back_as_the_inputs_the_action_describes() -> None:
    sent = {
        "title": "Bug",
        "kind": "issue",
        "state": None,
        "labels": None,
        "metadata": '{"team": "core"}',
        "anything": "plain words",
        "due": None,
        "assignee": {"login": "ana", "id": None},
        "target": None,
        "owner": None,
    }
    restored = restore_arguments(sent, RICH)
    # `due` takes null in its own schema: a null there is a value, and stays.
    assert restored == {
        "title": "Bug",
        "kind": "issue",
        "metadata": {"team": "core"},
        "anything": "plain words",
        "due": None,
        "assignee": {"login": "ana"},
    }
    Draft202012Validator(RICH).validate(restored)


def test_strict_applies_to_the_openai_formats_only() -> None:
    info = ActionInfo(code="A", name="A", description="d", input_schema={"type": "object", "properties": {}})
    for fmt in ("anthropic", "mcp"):
        with pytest.raises(ValueError, match="strict=True applies to the OpenAI formats"):
            as_tools([info], fmt, strict=True)
    (plain,) = as_tools([info], "openai")
    assert "strict" not in plain["function"]  # unchanged without strict


@pytest.mark.usefixtures("backend")
def test_a_strict_responses_call_runs_against_the_sandbox(sandbox: Any) -> None:
    response = IntegrationFactory.get("sandbox").connect(
        AuthenticationSchema.API_KEY, data={"api_key": CANARY_API_KEY, "port": sandbox.port}
    )
    tool = ModelFactory.get(response.data["id"])
    assert isinstance(tool, ConnectionTool)
    tool.action_scope = [a for a in tool.actions if a.code == "SANDBOX_CREATE_NOTE"]
    (definition,) = tool.as_tools("openai-responses", strict=True)
    valid(RESPONSES, FunctionToolParam, definition)
    assert definition["parameters"]["required"] == ["text", "tags"]
    # What a strict model sends: every property, null for the optional one it leaves out.
    call = {
        "type": "function_call",
        "call_id": "call_1",
        "name": definition["name"],
        "arguments": json.dumps({"text": "from a strict model", "tags": None}),
    }
    result = tool.run_tool_call(call)
    assert result["type"] == "function_call_output" and result["call_id"] == "call_1"
    assert json.loads(result["output"])["text"] == "from a strict model"
    assert "tags" not in json.loads(sandbox.received[-1].body)
