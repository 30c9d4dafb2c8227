"""Actions as LLM tools (OpenAI, Anthropic, MCP) and tool calls back into runs: plughub.tool_schemas and the SDK."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from plughub.engine.catalog import Catalog, describe_action
from plughub.enums import ResponseStatus
from plughub.modules.model.response import ModelResponse
from plughub.modules.model.tools import SHAPES, parse_tool_call, tool_result
from plughub.schemas import ActionInfo
from plughub.tool_schemas import FORMATS, as_tools, build_tools, clean_schema, returns_sentence, tool_name

# The published name rules: OpenAI function names; Anthropic tool names (its docs now say 128); MCP tool names.
PUBLISHED = {
    "openai": re.compile(r"^[a-zA-Z0-9_-]{1,64}$"),
    "openai-responses": re.compile(r"^[a-zA-Z0-9_-]{1,64}$"),
    "anthropic": re.compile(r"^[a-zA-Z0-9_-]{1,128}$"),
    "mcp": re.compile(r"^[A-Za-z0-9_.-]{1,128}$"),
}
# What plughub emits everywhere: 64 characters at most (MCP clients forward names to model APIs).
EMITTED = {
    "openai": re.compile(r"^[a-zA-Z0-9_-]{1,64}$"),
    "openai-responses": re.compile(r"^[a-zA-Z0-9_-]{1,64}$"),
    "anthropic": re.compile(r"^[a-zA-Z0-9_-]{1,64}$"),
    "mcp": re.compile(r"^[A-Za-z0-9_.-]{1,64}$"),
}
OPENAI_ALLOWED = {
    "type", "properties", "required", "items", "enum", "description", "default", "format", "minimum", "maximum",
    "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minLength", "maxLength", "pattern", "minItems",
    "maxItems", "anyOf", "oneOf", "allOf", "additionalProperties", "$ref", "$defs", "definitions",
}  # fmt: skip
OPENAI_DROPPED = {"$schema", "$id", "examples", "title", "nullable", "const", "readOnly", "x-internal", "if", "not"}


def schema_nodes(schema: Any) -> Iterator[dict[str, Any]]:
    """Every subschema of a schema (not the data inside enum/default/examples)."""
    if not isinstance(schema, dict):
        return
    yield schema
    for key in ("properties", "$defs", "definitions", "patternProperties"):
        for sub in (schema.get(key) or {}).values():
            yield from schema_nodes(sub)
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for sub in schema.get(key) or []:
            yield from schema_nodes(sub)
    for key in ("items", "additionalProperties", "not", "if", "then", "else"):
        yield from schema_nodes(schema.get(key))


def action(code: str, schema: dict[str, Any] | None = None, description: str = "Does a thing.") -> ActionInfo:
    return ActionInfo(
        code=code, name=code.replace("_", " ").title(), description=description, input_schema=schema or {}
    )


@pytest.fixture(scope="module")
def catalog_actions() -> dict[str, list[ActionInfo]]:
    catalog = Catalog()
    result = {}
    for integration_id in catalog.ids():
        spec = catalog.spec(integration_id)
        result[integration_id] = [describe_action(code, a) for code, a in spec.actions.items()]
    assert sum(len(actions) for actions in result.values()) > 500
    return result


# ---------------------------------------------------------------- tool names


@pytest.mark.parametrize("fmt", FORMATS)
def test_valid_codes_are_kept_as_names(fmt: str) -> None:
    assert tool_name("GITHUB_CREATE_ISSUE", fmt) == "GITHUB_CREATE_ISSUE"
    assert tool_name("slack-post", fmt) == "slack-post"
    assert tool_name("X" * 64, fmt) == "X" * 64


@pytest.mark.parametrize("fmt", FORMATS)
def test_long_codes_are_shortened_deterministically_and_stay_distinct(fmt: str) -> None:
    first, second = "A" * 100 + "_ONE", "A" * 100 + "_TWO"
    names = {tool_name(first, fmt), tool_name(second, fmt), tool_name("A" * 65, fmt)}
    assert len(names) == 3
    for name in names:
        assert EMITTED[fmt].match(name) and PUBLISHED[fmt].match(name), name
        assert re.search(r"_[0-9a-f]{8}$", name)
    assert tool_name(first, fmt) == tool_name(first, fmt)
    assert tool_name(first, fmt).startswith("A" * 50)


def test_forbidden_characters_are_replaced_and_hashed() -> None:
    openai = tool_name("crm.contacts/create v2", "openai")
    assert PUBLISHED["openai"].match(openai) and openai.startswith("crm_contacts_create_v2_")
    assert tool_name("crm.contacts", "mcp") == "crm.contacts"  # MCP allows dots
    assert tool_name("crm.contacts", "openai") != tool_name("crm_contacts", "openai")  # no collision
    assert PUBLISHED["anthropic"].match(tool_name("café_ümlaut", "anthropic"))


@pytest.mark.parametrize("bad", ["", None])
def test_empty_codes_are_refused(bad: Any) -> None:
    with pytest.raises(ValueError, match="non-empty string"):
        tool_name(bad, "openai")


def test_unknown_format_names_the_accepted_ones() -> None:
    for call in (lambda: tool_name("A", "gemini"), lambda: as_tools([], "gemini"), lambda: clean_schema({}, "x")):
        with pytest.raises(ValueError, match="openai, openai-responses, anthropic, mcp"):
            call()
    assert as_tools([action("A")], " OpenAI ")[0]["function"]["name"] == "A"


# ---------------------------------------------------------------- the bundled catalog


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_bundled_action_becomes_a_valid_tool(fmt: str, catalog_actions: dict[str, list[ActionInfo]]) -> None:
    longest = max((a.code for actions in catalog_actions.values() for a in actions), key=len)
    assert EMITTED[fmt].match(tool_name(longest, fmt))
    for integration_id, actions in catalog_actions.items():
        tools, codes = build_tools(actions, fmt)
        assert len(tools) == len(actions) == len(codes), integration_id
        assert sorted(codes.values()) == sorted(a.code for a in actions)
        for tool, info in zip(tools, actions, strict=True):
            definition = tool["function"] if fmt == "openai" else tool
            key = {"openai": "parameters", "openai-responses": "parameters", "anthropic": "input_schema"}.get(fmt)
            schema = definition[key or "inputSchema"]
            assert PUBLISHED[fmt].match(definition["name"]) and EMITTED[fmt].match(definition["name"])
            assert codes[definition["name"]] == info.code
            assert definition["description"] and len(definition["description"]) <= 1024
            Draft202012Validator.check_schema(schema)
            assert schema["type"] == "object" and isinstance(schema["properties"], dict)
            # Cleaning keeps every input and what is required.
            assert schema["properties"].keys() == info.input_schema.get("properties", {}).keys()
            assert schema.get("required", []) == info.input_schema.get("required", [])
            if fmt.startswith("openai"):
                assert tool["type"] == "function"
                for node in schema_nodes(schema):
                    assert set(node) <= OPENAI_ALLOWED, (info.code, set(node) - OPENAI_ALLOWED)
                    assert node.get("format") in (None, "date-time", "date", "email", "time", "uuid")


def test_cleaning_keeps_what_the_bundled_schemas_accept(catalog_actions: dict[str, list[ActionInfo]]) -> None:
    # `const` becomes a one-value `enum`: an instance valid before is valid after, and vice versa.
    for actions in catalog_actions.values():
        for info in actions:
            for name, prop in info.input_schema.get("properties", {}).items():
                if "const" in prop:
                    cleaned = clean_schema(info.input_schema, "openai")["properties"][name]
                    assert Draft202012Validator(cleaned).is_valid(prop["const"])
                    assert not Draft202012Validator(cleaned).is_valid([{"kind": "something else"}])


# ---------------------------------------------------------------- schemas by hand

RICH: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://example.com/create",
    "title": "Create",
    "type": "object",
    "properties": {
        "title": {"type": "string", "title": "Title", "examples": ["Bug"], "minLength": 1, "maxLength": 256},
        "format": {"type": "string", "enum": ["md", "html"], "default": "md"},  # a property named like a keyword
        "examples": {"type": "array", "items": {"type": "string", "format": "uri", "readOnly": True}},
        "due": {"type": "string", "format": "date-time", "nullable": True},
        "state": {"type": "string", "enum": ["open", "closed"], "nullable": True},
        "kind": {"const": "issue", "description": "Always issue."},
        "owner": {"$ref": "#/$defs/user"},
        "extra": {"type": "object", "additionalProperties": {"type": "integer", "x-internal": 1}},
    },
    "required": ["title"],
    "additionalProperties": False,
    "$defs": {
        "user": {"type": "object", "properties": {"login": {"$ref": "#/$defs/login"}}},
        "login": {"type": "string"},
        "unused": {"type": "number"},
    },
}  # fmt: skip


def test_openai_schema_keeps_the_common_keywords_only() -> None:
    original = copy.deepcopy(RICH)
    cleaned = clean_schema(RICH, "openai")
    assert original == RICH  # the input is not modified
    Draft202012Validator.check_schema(cleaned)
    for node in schema_nodes(cleaned):
        assert not set(node) & OPENAI_DROPPED, set(node) & OPENAI_DROPPED
    props = cleaned["properties"]
    assert set(props) == set(RICH["properties"])  # property names are data, not keywords
    assert props["title"] == {"type": "string", "minLength": 1, "maxLength": 256}
    assert props["format"]["default"] == "md"
    assert props["examples"]["items"] == {"type": "string"}  # "uri" is not a format OpenAI documents
    assert props["due"] == {"type": ["string", "null"], "format": "date-time"}
    assert props["state"]["type"] == ["string", "null"] and props["state"]["enum"] == ["open", "closed", None]
    assert props["kind"] == {"enum": ["issue"], "description": "Always issue."}
    assert set(cleaned["$defs"]) == {"user", "login"}  # "unused" is reached by no $ref
    assert cleaned["required"] == ["title"] and cleaned["additionalProperties"] is False
    validator = Draft202012Validator(cleaned)
    assert validator.is_valid({"title": "Bug", "due": None, "state": None, "owner": {"login": "octo"}})
    assert not validator.is_valid({"title": "Bug", "owner": {"login": 3}})


def test_anthropic_and_mcp_schemas_keep_more() -> None:
    anthropic, mcp = clean_schema(RICH, "anthropic"), clean_schema(RICH, "mcp")
    assert "$schema" not in anthropic and mcp["$schema"] == RICH["$schema"]
    for cleaned in (anthropic, mcp):
        Draft202012Validator.check_schema(cleaned)
        assert cleaned["properties"]["title"]["examples"] == ["Bug"]
        assert cleaned["properties"]["kind"]["const"] == "issue"
        assert set(cleaned["$defs"]) == {"user", "login", "unused"}
        assert "nullable" not in cleaned["properties"]["due"]
        assert cleaned["properties"]["due"]["type"] == ["string", "null"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("schema", [{}, {"type": "object"}, {"properties": None}, {"type": ["object", "null"]}])
def test_the_top_level_is_always_an_object_with_properties(fmt: str, schema: dict[str, Any]) -> None:
    cleaned = clean_schema(schema, fmt)
    assert cleaned["type"] == "object" and cleaned["properties"] == {}
    Draft202012Validator.check_schema(cleaned)


@pytest.mark.parametrize("fmt", FORMATS)
def test_top_level_combinators_are_merged_into_properties(fmt: str) -> None:
    schema = {
        "type": "object",
        "properties": {"id": {"type": "string"}},
        "allOf": [{"properties": {"org": {"type": "string"}}, "required": ["org"]}],
        "anyOf": [{"properties": {"email": {"type": "string"}}, "required": ["email"]}, {"required": ["id"]}],
        "oneOf": [{"properties": {"id": {"type": "integer"}}}],
    }
    cleaned = clean_schema(schema, fmt)
    assert not {"allOf", "anyOf", "oneOf"} & set(cleaned)
    assert cleaned["properties"] == {"id": {"type": "string"}, "org": {"type": "string"}, "email": {"type": "string"}}
    assert cleaned["required"] == ["org"]  # an anyOf branch's requirement is not everyone's


@pytest.mark.parametrize("fmt", FORMATS)
def test_schemas_that_are_not_objects_are_refused(fmt: str) -> None:
    with pytest.raises(ValueError, match="must describe an object, got type 'string'"):
        clean_schema({"type": "string"}, fmt)
    with pytest.raises(ValueError, match="JSON object"):
        clean_schema(["not", "a", "schema"], fmt)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="action 'BAD'"):
        build_tools([action("BAD", {"type": "array"})], fmt)


# ---------------------------------------------------------------- tool definitions


def test_tool_shapes_per_format() -> None:
    info = action("GITHUB_CREATE_ISSUE", {"type": "object", "properties": {"title": {"type": "string"}}})
    (openai,) = as_tools([info])
    assert openai["type"] == "function"
    assert set(openai["function"]) == {"name", "description", "parameters"}
    assert openai["function"]["name"] == "GITHUB_CREATE_ISSUE"
    assert openai["function"]["description"] == f"Does a thing.\n\n{returns_sentence(info)}"
    (anthropic,) = as_tools([info], "anthropic")
    assert set(anthropic) == {"name", "description", "input_schema"}
    (mcp,) = as_tools([info], "mcp")
    assert set(mcp) == {"name", "title", "description", "inputSchema"} and mcp["title"] == "Github Create Issue"
    tools, codes = build_tools([info, action("A" * 80)], "anthropic")
    assert codes == {"GITHUB_CREATE_ISSUE": "GITHUB_CREATE_ISSUE", tools[1]["name"]: "A" * 80}


def test_descriptions_are_trimmed_and_never_empty() -> None:
    (tool,) = as_tools([action("LONG", description="word " * 1000)])
    text = tool["function"]["description"]
    assert len(text) <= 1024 and text.split("\n\n")[0].endswith("word...")  # between words, never inside one
    assert text.endswith(returns_sentence(action("LONG")))  # what comes back always fits
    (anthropic,) = as_tools([action("LONG", description="word " * 1000)], "anthropic")
    assert len(anthropic["description"]) <= 4096
    (bare,) = as_tools([action("LIST_THINGS", description="")], "mcp")
    assert bare["description"].startswith("List Things (GET /).\n\nReturns ")


def test_two_actions_with_one_tool_name_are_refused() -> None:
    with pytest.raises(ValueError, match="both become tool 'SAME'"):
        build_tools([action("SAME"), action("SAME")])


# ---------------------------------------------------------------- tool calls

ARGS = {"title": "Bug", "labels": ["p1"]}


def call_shapes() -> list[tuple[str, Any, str]]:
    """Each input shape, as a dict and as an SDK-like object: (label, call, expected shape)."""
    chat = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "GITHUB_CREATE_ISSUE", "arguments": json.dumps(ARGS)},
    }
    responses = {
        "type": "function_call",
        "id": "fc_9",
        "call_id": "call_1",
        "name": "GITHUB_CREATE_ISSUE",
        "arguments": json.dumps(ARGS),
    }
    anthropic = {"type": "tool_use", "id": "call_1", "name": "GITHUB_CREATE_ISSUE", "input": ARGS}
    chat_object = SimpleNamespace(
        id="call_1", type="function", function=SimpleNamespace(name="GITHUB_CREATE_ISSUE", arguments=json.dumps(ARGS))
    )
    return [
        ("chat dict", chat, "openai_chat"),
        ("chat object", chat_object, "openai_chat"),
        ("responses dict", responses, "openai_responses"),
        ("responses object", SimpleNamespace(**responses), "openai_responses"),
        ("anthropic dict", anthropic, "anthropic"),
        ("anthropic object", SimpleNamespace(**anthropic), "anthropic"),
    ]  # fmt: skip


@pytest.mark.parametrize(("label", "call", "shape"), call_shapes(), ids=[c[0] for c in call_shapes()])
def test_tool_calls_are_read_in_every_shape(label: str, call: Any, shape: str) -> None:
    assert parse_tool_call(call) == (shape, "call_1", "GITHUB_CREATE_ISSUE", ARGS)


def test_tool_call_arguments_edge_cases() -> None:
    no_args = {"id": "c", "type": "function", "function": {"name": "PING", "arguments": ""}}
    assert parse_tool_call(no_args) == ("openai_chat", "c", "PING", {})
    as_dict = {"id": "c", "function": {"name": "PING", "arguments": {"a": 1}}}  # some compatible servers
    assert parse_tool_call(as_dict)[3] == {"a": 1}
    no_id = {"type": "function", "function": {"name": "PING", "arguments": "{}"}}
    assert parse_tool_call(no_id)[1] is None
    assert parse_tool_call({"type": "tool_use", "id": "t", "name": "PING", "input": None})[3] == {}


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ({"id": "c", "type": "function", "function": {"name": "X", "arguments": "{'title': 'single quotes'}"}},
         "tool call 'X': arguments are not valid JSON"),
        ({"type": "function_call", "call_id": "c", "name": "X", "arguments": "[1, 2]"},
         "arguments must be a JSON object, got list"),
        ({"type": "tool_use", "id": "c", "name": "X", "input": "title=Bug"}, "input must be an object, got str"),
        ({"type": "tool_use", "id": "c", "input": {}}, "expected a non-empty tool name, got None"),
        ({"role": "assistant", "content": "hi"}, "expected an OpenAI chat tool call .* got \\['content', 'role'\\]"),
        ({"type": "text", "text": "hi"}, "or an Anthropic block .* with type 'text'"),
        ("GITHUB_CREATE_ISSUE", "got str with type None"),
        (None, "got NoneType"),
    ],
)  # fmt: skip
def test_malformed_tool_calls_say_what_was_expected(call: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_tool_call(call)


# ---------------------------------------------------------------- tool results

OK = ModelResponse(status=ResponseStatus.SUCCESS, data={"number": 7, "title": "Bug ü"}, completed=True)
FAILED = ModelResponse(
    status=ResponseStatus.FAILED, error_code="upstream_status", error_message="GitHub answered 422: title is missing"
)
FAILED_JSON = {"error": "upstream_status", "message": "GitHub answered 422: title is missing"}


def test_results_for_openai_chat() -> None:
    assert tool_result("call_1", OK, "openai_chat") == {
        "role": "tool",
        "tool_call_id": "call_1",
        "content": '{"number": 7, "title": "Bug ü"}',
    }
    failed = tool_result("call_1", FAILED, "openai_chat")
    assert failed["role"] == "tool" and json.loads(failed["content"]) == FAILED_JSON
    assert "tool_call_id" not in tool_result(None, OK, "openai_chat")  # servers that send no ids


def test_results_for_openai_responses() -> None:
    result = tool_result("call_1", OK, "openai_responses")
    assert result == {"type": "function_call_output", "call_id": "call_1", "output": '{"number": 7, "title": "Bug ü"}'}
    assert json.loads(tool_result("call_1", FAILED, "openai_responses")["output"]) == FAILED_JSON


def test_results_for_anthropic() -> None:
    ok = tool_result("toolu_1", OK, "anthropic")
    assert ok == {"type": "tool_result", "tool_use_id": "toolu_1", "content": json.dumps(OK.data, ensure_ascii=False),
                  "is_error": False}  # fmt: skip
    failed = tool_result("toolu_1", FAILED, "anthropic")
    assert failed["is_error"] is True and json.loads(failed["content"]) == FAILED_JSON


def test_failed_responses_without_a_code_still_say_so() -> None:
    bare = ModelResponse(status=ResponseStatus.FAILED)
    assert json.loads(tool_result("c", bare, "openai_chat")["content"]) == {"error": "failed", "message": ""}


def test_results_are_json_text_and_truncated_with_a_marker() -> None:
    odd = ModelResponse(status=ResponseStatus.SUCCESS, data={"when": __import__("datetime").date(2024, 5, 1)})
    assert tool_result("c", odd, "openai_chat")["content"] == '{"when": "2024-05-01"}'
    text = ModelResponse(status=ResponseStatus.SUCCESS, data="plain")
    assert tool_result("c", text, "openai_chat")["content"] == '"plain"'
    big = ModelResponse(status=ResponseStatus.SUCCESS, data={"rows": ["x" * 100] * 2000})
    default = tool_result("c", big, "anthropic")["content"]
    assert len(default) == 100_000 and default.endswith("characters in all]") and "[truncated: " in default
    short = tool_result("c", big, "openai_responses", max_chars=500)["output"]
    assert len(short) == 500 and short.startswith('{"rows": ["xxx')
    assert tool_result("c", OK, "openai_chat", max_chars=100)["content"] == json.dumps(OK.data, ensure_ascii=False)


def test_bad_result_requests_are_refused() -> None:
    with pytest.raises(ValueError, match="openai_chat, openai_responses, anthropic"):
        tool_result("c", OK, "openai")
    with pytest.raises(ValueError, match="at least 100"):
        tool_result("c", OK, "anthropic", max_chars=10)
    for shape in ("openai_responses", "anthropic"):
        with pytest.raises(ValueError, match="needs the id"):
            tool_result(None, OK, shape)


@pytest.mark.parametrize(("label", "call", "shape"), call_shapes(), ids=[c[0] for c in call_shapes()])
def test_round_trip_from_tools_to_result(label: str, call: Any, shape: str) -> None:
    info = action("GITHUB_CREATE_ISSUE", {"type": "object", "properties": {"title": {"type": "string"}}})
    _, codes = build_tools([info], "anthropic" if shape == "anthropic" else "openai")
    seen, call_id, name, arguments = parse_tool_call(call)
    assert seen in SHAPES and codes[name] == "GITHUB_CREATE_ISSUE" and arguments == ARGS
    result = tool_result(call_id, OK, seen)
    assert call_id in result.values()
