"""`verify_definition` on small documents written for the test: each finding kind, and what it understands.

Understood (no finding): `${inputs.x}` against `{x}`, a literal filling a parameter, a server's
base path and a longer one on the definition's side (Adyen's `/checkout`), query aliases such as
`created[gte]` for a deepObject `created` and an object input `created` for `created[gte]`, body
wrappers through `body_root`, credentials and fixed headers filling required parameters.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from plughub.engine.catalog import parse_definition
from plughub.engine.openapi.verify import read_vendor_document, verify_definition
from plughub.exceptions import CatalogError
from plughub.schemas import VerifyReport
from tests.openapi.docs import oas3, op

STRING = {"type": "string"}
DOCUMENT = oas3(
    {
        "/users/{user_id}": {
            "get": op(parameters=[{"name": "user_id", "in": "path", "required": True, "schema": STRING}]),
        },
        "/users/me": {"get": op()},
        "/orders": {
            "get": op(
                parameters=[
                    {"name": "X-Api-Key", "in": "header", "required": True, "schema": STRING},
                    {"name": "X-Request-Id", "in": "header", "required": True, "schema": STRING},
                    {"name": "status", "in": "query", "schema": STRING},
                    {
                        "name": "created",
                        "in": "query",
                        "style": "deepObject",
                        "schema": {"type": "object", "properties": {"gte": {"type": "integer"}}},
                    },
                ]
            ),
            "post": op(
                requestBody={
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["data"],
                                "properties": {
                                    "data": {
                                        "type": "object",
                                        "required": ["item"],
                                        "properties": {"item": STRING, "quantity": {"type": "integer"}},
                                    }
                                },
                            }
                        }
                    },
                }
            ),
        },
        "/charges": {
            "get": op(
                parameters=[
                    {"name": "created[gte]", "in": "query", "schema": {"type": "integer"}},
                    {"name": "created[lte]", "in": "query", "schema": {"type": "integer"}},
                ]
            )
        },
        "/forms": {
            "post": op(
                requestBody={
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": {"type": "object", "properties": {"name": STRING, "tags": {"type": "array"}}}
                        }
                    }
                }
            )
        },
        "/search": {"get": op(parameters=[{"name": "q", "in": "query", "required": True, "schema": STRING}])},
    },
    servers=[{"url": "https://api.acme.example/v2"}],
)


def definition(actions: dict[str, Any], **extra: Any) -> Any:
    return parse_definition(
        {
            "id": "acme",
            "display_name": "Acme",
            "base_url": "https://api.acme.example/v2",
            "headers": {"X-Request-Id": "fixed"} if extra.pop("fixed_header", False) else {},
            "auth": [{"mode": "API_KEY", "apply": {"header": "X-Api-Key"}}],
            "actions": actions,
            **extra,
        }
    )


def verify(actions: dict[str, Any], document: Any = None, **extra: Any) -> VerifyReport:
    vendor = read_vendor_document(document or DOCUMENT, name="acme.yaml")
    return verify_definition(definition(actions, **extra), [vendor])


def kinds(report: VerifyReport) -> list[tuple[str, str]]:
    return [(f.action, f.kind) for f in report.findings]


def action(method: str, path: str, **inputs: Any) -> dict[str, Any]:
    return {"display_name": "x", "method": method, "path": path, "inputs": inputs}


def test_a_definition_that_matches_has_no_findings() -> None:
    report = verify(
        {
            "ACME_GET_USER": action("GET", "/users/${inputs.user}", user={"type": "string", "required": True}),
            "ACME_GET_ME": action("GET", "/users/me"),
            "ACME_LIST_ORDERS": action(
                "GET",
                "/orders",
                status={"type": "string"},
                created_gte={"type": "integer", "alias": "created[gte]"},  # `created[gte]` for deepObject `created`
            ),
            "ACME_CREATE_ORDER": {
                **action("POST", "/orders", item={"type": "string", "required": True}, quantity={"type": "integer"}),
                "body_root": "data",  # Asana-style wrapper
            },
            "ACME_LIST_CHARGES": action("GET", "/charges", created={"type": "object"}),  # for `created[gte]`
            "ACME_SUBMIT_FORM": {**action("POST", "/forms", name={"type": "string"}), "body_encoding": "form"},
            "ACME_SEARCH": action("GET", "/search", q={"type": "string", "required": True}),
        },
        fixed_header=True,  # X-Request-Id is sent by every request; X-Api-Key by the credentials
    )
    assert report.findings == []
    assert report.actions == 7 and report.documents == ["acme.yaml"]
    assert report.ok


def test_each_finding_kind() -> None:
    report = verify(
        {
            "ACME_NOPE": action("GET", "/nope"),
            "ACME_DELETE_USER": action("DELETE", "/users/${inputs.user}", user={"type": "string", "required": True}),
            "ACME_LIST_ORDERS": action(
                "GET",
                "/orders",
                colour={"type": "string"},
                status={"type": "string", "in": "header", "alias": "status"},
            ),
            "ACME_CREATE_ORDER": action("POST", "/orders", item={"type": "string", "required": True}),
            "ACME_SUBMIT_FORM": action("POST", "/forms", name={"type": "string"}),
            "ACME_SEARCH": action("GET", "/search", q={"type": "string"}),
        }
    )
    messages = {(f.action, f.kind): f.message for f in report.findings}
    assert kinds(report) == [
        ("ACME_NOPE", "route_unknown"),
        ("ACME_DELETE_USER", "route_unknown"),
        ("ACME_LIST_ORDERS", "parameter_unknown"),
        ("ACME_LIST_ORDERS", "parameter_misplaced"),
        ("ACME_LIST_ORDERS", "required_missing"),
        ("ACME_CREATE_ORDER", "body_property_unknown"),
        ("ACME_CREATE_ORDER", "required_missing"),
        ("ACME_SUBMIT_FORM", "body_encoding"),
        ("ACME_SEARCH", "required_missing"),
    ]
    assert messages["ACME_NOPE", "route_unknown"] == "GET /v2/nope is not an operation"
    assert messages["ACME_DELETE_USER", "route_unknown"] == (
        "DELETE /v2/users/{user} is not an operation; the documents have GET on this path"
    )
    assert messages["ACME_LIST_ORDERS", "parameter_unknown"] == (
        "input 'colour' (query 'colour') is not a parameter of GET /orders (acme.yaml)"
    )
    assert messages["ACME_LIST_ORDERS", "parameter_misplaced"] == (
        "input 'status' goes in the header as 'status'; GET /orders (acme.yaml) has it in the query"
    )
    assert messages["ACME_LIST_ORDERS", "required_missing"] == (
        "GET /orders (acme.yaml) requires the header parameter 'X-Request-Id'; no input sends it"
    )
    assert messages["ACME_CREATE_ORDER", "body_property_unknown"] == (
        "input 'item' (body 'item') is not a property of the body of POST /orders (acme.yaml) "
        "(POST /orders (acme.yaml) wraps the body in 'data': set body_root: data)"
    )
    assert messages["ACME_CREATE_ORDER", "required_missing"] == (
        "POST /orders (acme.yaml) requires the body property 'data'; no input sends it"
    )
    assert messages["ACME_SUBMIT_FORM", "body_encoding"] == (
        "the action sends a json body; POST /forms (acme.yaml) takes application/x-www-form-urlencoded"
    )
    assert messages["ACME_SEARCH", "required_missing"] == (
        "GET /search (acme.yaml) requires the query parameter 'q'; input 'q' is optional in the definition"
    )
    assert not report.ok


def test_a_wrong_wrapper_and_a_body_input_the_document_has_in_the_query() -> None:
    report = verify(
        {
            "ACME_CREATE_ORDER": {
                **action("POST", "/orders", item={"type": "string", "required": True}),
                "body_root": "order",
            },
            "ACME_SEARCH": action("POST", "/search", q={"type": "string", "required": True}),
        },
        document={
            **DOCUMENT,
            "paths": {
                **DOCUMENT["paths"],
                "/search": {"post": op(parameters=[{"name": "q", "in": "query", "schema": STRING}])},
            },
        },
    )
    messages = [f.message for f in report.findings]
    assert "body_root 'order' is not a property of the body of POST /orders (acme.yaml)" in messages
    assert "input 'q' goes in the body; POST /search (acme.yaml) has it in the query" in messages


def test_a_longer_base_path_on_the_definition_side_is_understood() -> None:
    # Adyen's live servers add `/checkout` before the `/v71` of the test server its document lists.
    report = verify(
        {"ACME_GET_ME": action("GET", "/users/me")},
        base_url="https://${connection_config.host}/live/v2",
        connection_config={"host": {"type": "string"}},
    )
    assert report.findings == []
    report = verify({"ACME_GET_ME": action("GET", "/users/me")}, base_url="https://api.acme.example/v3")
    assert kinds(report) == [("ACME_GET_ME", "route_unknown")]


def test_exceptions_are_accepted_with_their_reason_and_a_needless_one_is_noted() -> None:
    report = verify(
        {"ACME_NOPE": action("GET", "/nope"), "ACME_GET_ME": action("GET", "/users/me")},
        verified_against={
            "document": "acme.yaml",
            "exceptions": {"ACME_NOPE": "The document is older than /nope.", "ACME_GET_ME": "No reason."},
        },
    )
    assert report.findings == [] and report.ok
    assert [(f.action, f.kind, f.accepted) for f in report.accepted] == [
        ("ACME_NOPE", "route_unknown", "The document is older than /nope.")
    ]
    assert report.notes == ["ACME_GET_ME: listed in verified_against.exceptions, but it has no findings"]


def test_several_documents_are_checked_together(tmp_path: Path) -> None:
    other = oas3({"/invoices": {"get": op()}}, servers=[{"url": "https://api.acme.example/v2"}])
    (tmp_path / "invoices.yaml").write_text(yaml.safe_dump(other))
    spec = definition({"ACME_GET_ME": action("GET", "/users/me"), "ACME_LIST_INVOICES": action("GET", "/invoices")})
    vendors = [read_vendor_document(DOCUMENT, name="acme.yaml"), read_vendor_document(tmp_path / "invoices.yaml")]
    report = verify_definition(spec, vendors)
    assert report.findings == [] and report.documents == ["acme.yaml", "invoices.yaml"]
    assert kinds(verify_definition(spec, vendors[:1])) == [("ACME_LIST_INVOICES", "route_unknown")]


def test_verified_against_is_checked_when_the_definition_loads() -> None:
    with pytest.raises(
        CatalogError, match="verified_against: .*exceptions name actions the definition lacks: ACME_GONE"
    ):
        definition({}, verified_against={"document": "acme.yaml", "exceptions": {"ACME_GONE": "why"}})
    with pytest.raises(CatalogError, match="verified_against.exceptions: .*give the reason for each exception"):
        definition(
            {"ACME_GET_ME": action("GET", "/users/me")},
            verified_against={"document": "a", "exceptions": {"ACME_GET_ME": " "}},
        )
    with pytest.raises(CatalogError, match="verified_against.document"):
        definition({}, verified_against={"document": []})


def test_a_document_that_is_not_openapi_is_refused() -> None:
    with pytest.raises(CatalogError, match="not an OpenAPI document"):
        read_vendor_document({"info": {"title": "x"}})
