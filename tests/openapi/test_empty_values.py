"""Empty values the wire would lose or send malformed are refused before anything is sent.

A form or query list `[]` sends no key at all, so a required field goes missing; an empty string
sends `key=`, which a query parameter takes only with `allowEmptyValue: true` (Swagger 2.0: form
fields too). The imported inputs say `minItems: 1` / `minLength: 1` there, and validation refuses.
"""

from __future__ import annotations

from typing import Any

import pytest

from plughub import AuthenticationSchema, ConnectionTool, IntegrationFactory, ModelFactory, ResponseStatus
from plughub.engine.openapi import import_openapi
from tests.openapi.docs import oas3, op, swagger2
from tests.upstream import Reply

pytestmark = pytest.mark.usefixtures("backend")

FORM = {
    "required": True,
    "content": {
        "application/x-www-form-urlencoded": {
            "schema": {
                "type": "object",
                "required": ["channels", "text"],
                "properties": {
                    "channels": {"type": "array", "items": {"type": "string"}},
                    "text": {"type": "string"},
                    "tags": {"type": "array", "items": {"type": "string"}},
                },
            }
        }
    },
}
QUERY = [
    {"name": "ids", "in": "query", "required": True, "schema": {"type": "array", "items": {"type": "string"}}},
    {"name": "q", "in": "query", "schema": {"type": "string"}},
    {"name": "cursor", "in": "query", "allowEmptyValue": True, "schema": {"type": "string"}},
]


def connect(doc: dict[str, Any], upstream: Any) -> ConnectionTool:
    result = import_openapi(doc, base_url=upstream.url)
    integration = IntegrationFactory.create(result.definition)
    tool = ModelFactory.get(integration.connect(AuthenticationSchema.NO_AUTH).data["id"])
    assert isinstance(tool, ConnectionTool)
    return tool


def test_a_required_form_list_and_a_required_query_list_refuse_an_empty_list(upstream: Any) -> None:
    upstream.route("POST", "/post", lambda seen: Reply(200, {"ok": True}))
    upstream.route("GET", "/items", lambda seen: Reply(200, {"ok": True}))
    doc = oas3(
        {
            "/post": {"post": op(operationId="post", requestBody=FORM)},
            "/items": {"get": op(operationId="items", parameters=QUERY)},
        }
    )
    tool = connect(doc, upstream)
    with pytest.raises(ValueError, match="channels") as refused:
        tool.run("PET_SHOP_POST", {"channels": [], "text": "hi"})
    assert "should be non-empty" in str(refused.value)
    with pytest.raises(ValueError, match="ids"):
        tool.run("PET_SHOP_ITEMS", {"ids": []})
    assert upstream.seen == []  # nothing half-sent
    # An optional list may be empty (it is simply not sent); a real list goes out as repeated keys.
    sent = tool.run("PET_SHOP_POST", {"channels": ["a", "b"], "text": "hi", "tags": []})
    assert sent.status is ResponseStatus.SUCCESS, sent.error_message
    assert upstream.seen[-1].body == b"channels=a&channels=b&text=hi"


def test_an_empty_query_string_is_refused_unless_the_document_allows_it(upstream: Any) -> None:
    upstream.route("GET", "/items", lambda seen: Reply(200, {"ok": True}))
    tool = connect(oas3({"/items": {"get": op(operationId="items", parameters=QUERY)}}), upstream)
    with pytest.raises(ValueError, match="q"):
        tool.run("PET_SHOP_ITEMS", {"ids": ["1"], "q": ""})
    assert upstream.seen == []
    sent = tool.run("PET_SHOP_ITEMS", {"ids": ["1"], "cursor": ""})
    assert sent.status is ResponseStatus.SUCCESS, sent.error_message
    assert upstream.seen[-1].query == [("ids", "1"), ("cursor", "")]


def test_a_swagger2_form_field_refuses_an_empty_string_unless_allowed(upstream: Any) -> None:
    upstream.route("POST", "/chat.post", lambda seen: Reply(200, {"ok": True}))
    form = [
        {"name": "channel", "in": "formData", "required": True, "type": "string"},
        {"name": "thread", "in": "formData", "type": "string", "allowEmptyValue": True},
    ]
    paths = {
        "/chat.post": {
            "post": op(operationId="chat.post", parameters=form, consumes=["application/x-www-form-urlencoded"])
        }
    }
    tool = connect(swagger2(paths), upstream)
    with pytest.raises(ValueError, match="channel"):
        tool.run("PET_SHOP_CHAT_POST", {"channel": ""})
    sent = tool.run("PET_SHOP_CHAT_POST", {"channel": "C1", "thread": ""})
    assert sent.status is ResponseStatus.SUCCESS, sent.error_message
    assert upstream.seen[-1].body == b"channel=C1&thread="
