"""The importer fills `pagination` where a document makes it plain, and leaves it out otherwise."""

from __future__ import annotations

from typing import Any

import pytest

from plughub.engine.openapi import import_openapi
from tests.openapi.corpus import corpus_files, document
from tests.openapi.docs import oas3, offline, only_action, run, swagger2

LINK = {"Link": {"description": "RFC 8288 links", "schema": {"type": "string"}}}


def _get(response: dict[str, Any], parameters: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"get": {"operationId": "list", "parameters": parameters or [], "responses": {"200": response}}}


def _json(schema: dict[str, Any], headers: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "description": "ok",
        "content": {"application/json": {"schema": schema}},
        **({"headers": headers} if headers else {}),
    }


def _query(name: str, kind: str = "string") -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": {"type": kind}}


ITEM = {"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}}}


def test_a_link_header_on_a_list_answer_is_link_pagination() -> None:
    result = run(oas3({"/repos": _get(_json({"type": "array", "items": ITEM}, LINK), [_query("per_page", "integer")])}))
    assert only_action(result)["pagination"] == {"type": "link", "items": ""}


def test_a_link_header_on_an_object_with_one_list_points_at_it() -> None:
    schema = {
        "type": "object",
        "properties": {"total_count": {"type": "integer"}, "runs": {"type": "array", "items": ITEM}},
    }
    result = run(oas3({"/runs": _get(_json(schema, LINK))}))
    assert only_action(result)["pagination"] == {"type": "link", "items": "/runs"}


def test_a_link_header_in_swagger_2() -> None:
    response = {
        "description": "ok",
        "schema": {"type": "array", "items": ITEM},
        "headers": {"Link": {"type": "string"}},
    }
    result = run(swagger2({"/repos": _get(response)}))
    assert only_action(result)["pagination"] == {"type": "link", "items": ""}


def test_a_next_cursor_paired_with_a_cursor_parameter() -> None:
    schema = {
        "type": "object",
        "properties": {
            "ok": {"type": "boolean"},
            "members": {"type": "array", "items": ITEM},
            "response_metadata": {"type": "object", "properties": {"next_cursor": {"type": "string"}}},
        },
    }
    result = run(oas3({"/users.list": _get(_json(schema), [_query("cursor"), _query("limit", "integer")])}))
    assert only_action(result)["pagination"] == {
        "type": "cursor",
        "items": "/members",
        "cursor_input": "cursor",
        "next_cursor": "/response_metadata/next_cursor",
    }


def test_hubspot_paging_next_after() -> None:
    paging = {
        "type": "object",
        "properties": {
            "next": {"type": "object", "properties": {"after": {"type": "string"}, "link": {"type": "string"}}}
        },
    }
    schema = {"type": "object", "properties": {"results": {"type": "array", "items": ITEM}, "paging": paging}}
    result = run(oas3({"/contacts": _get(_json(schema), [_query("after"), _query("limit", "integer")])}))
    assert only_action(result)["pagination"]["next_cursor"] == "/paging/next/after"


def test_stripe_starting_after_takes_the_last_items_id() -> None:
    schema = {
        "type": "object",
        "properties": {
            "object": {"type": "string"},
            "data": {"type": "array", "items": ITEM},
            "has_more": {"type": "boolean"},
            "url": {"type": "string"},
        },
    }
    parameters = [_query("starting_after"), _query("ending_before"), _query("limit", "integer")]
    result = run(oas3({"/v1/customers": _get(_json(schema), parameters)}))
    assert only_action(result)["pagination"] == {
        "type": "cursor",
        "items": "/data",
        "cursor_input": "starting_after",
        "item_cursor": "/id",
        "has_more": "/has_more",
    }


@pytest.mark.parametrize(
    ("schema", "parameters", "headers"),
    [
        # An offset or a page number says nothing certain about the last page.
        ({"type": "array", "items": ITEM}, [_query("offset", "integer"), _query("limit", "integer")], None),
        ({"type": "array", "items": ITEM}, [_query("page", "integer")], None),
        # A cursor parameter without a next cursor in the answer.
        ({"type": "object", "properties": {"data": {"type": "array", "items": ITEM}}}, [_query("cursor")], None),
        # Two lists: which one is the page's?
        (
            {
                "type": "object",
                "properties": {"a": {"type": "array", "items": ITEM}, "b": {"type": "array", "items": ITEM}},
            },
            [],
            LINK,
        ),
        # Two next-cursor-like fields.
        (
            {
                "type": "object",
                "properties": {
                    "data": {"type": "array", "items": ITEM},
                    "next_cursor": {"type": "string"},
                    "meta": {"type": "object", "properties": {"next_page_token": {"type": "string"}}},
                },
            },
            [_query("cursor")],
            None,
        ),
    ],
)
def test_anything_less_plain_is_left_out(
    schema: dict[str, Any], parameters: list[dict[str, Any]], headers: dict[str, Any] | None
) -> None:
    result = run(oas3({"/things": _get(_json(schema, headers), parameters)}))
    assert "pagination" not in only_action(result)


@pytest.mark.slow
@pytest.mark.skipif(not corpus_files(), reason="the OpenAPI corpus is not present")
def test_the_corpus_github_and_hubspot_documents() -> None:
    github = import_openapi(document("github-api.github.com.json"), fetch=offline).definition["actions"]
    issues = next(
        a
        for a in github.values()
        if a["method"] == "GET" and a["path"] == "/repos/${inputs.owner}/${inputs.repo}/issues"
    )
    assert issues["pagination"] == {"type": "link", "items": ""}
    runs = next(a for a in github.values() if a["path"] == "/repos/${inputs.owner}/${inputs.repo}/actions/runs")
    assert runs["pagination"] == {"type": "link", "items": "/workflow_runs"}
    assert "pagination" not in next(a for a in github.values() if a["method"] == "POST")
    hubspot = import_openapi(document("hubspot-crm-contacts-2026-03.json"), fetch=offline).definition["actions"]
    listed = next(a for a in hubspot.values() if a["method"] == "GET" and a["path"].endswith("/contacts"))
    assert listed["pagination"] == {
        "type": "cursor",
        "items": "/results",
        "cursor_input": "after",
        "next_cursor": "/paging/next/after",
    }
