"""References to files beside the document (DigitalOcean's layout), and references that are broken.

A document read from a file may refer to files in its directory or below; one read from an URL, to
URLs beside it (fetched with the importer's fetch). Nothing else is read. An operation whose
references cannot be followed is skipped with a warning; so is one that reaches a reference that
does not resolve (Square's missing `CatalogModifierToggleOverrideType`), and only that one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from plughub.engine.openapi import import_openapi
from tests.openapi.docs import oas3, op, run, swagger2


def write(root: Path, files: dict[str, Any]) -> None:
    for name, content in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(content) if name.endswith(".json") else yaml.safe_dump(content))


DO_LIKE = {
    "api.yaml": {
        "openapi": "3.0.0",
        "info": {"title": "Droplets", "version": "2"},
        "servers": [{"url": "https://api.example.com"}],
        "paths": {
            "/v2/droplets": {
                "get": {"$ref": "resources/droplets/droplets_list.yml"},
                "post": {"$ref": "resources/droplets/droplets_create.yml"},
            },
            "/v2/droplets/{droplet_id}": {"$ref": "resources/droplets/droplet_item.yml"},
        },
        "components": {
            "parameters": {
                "droplet_id": {"name": "droplet_id", "in": "path", "required": True, "schema": {"type": "integer"}}
            },
            "securitySchemes": {"bearer_auth": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer_auth": []}],
    },
    "resources/droplets/droplets_list.yml": {
        "operationId": "droplets_list",
        "summary": "List all droplets",
        "description": "Lists every droplet of the account.",
        "parameters": [{"$ref": "../../shared/parameters.yml#/per_page"}, {"$ref": "parameters.yml#/tag_name"}],
        "responses": {"200": {"$ref": "responses/all_droplets.yml"}},
    },
    "resources/droplets/parameters.yml": {
        "tag_name": {"name": "tag_name", "in": "query", "description": "Only this tag.", "schema": {"type": "string"}}
    },
    "resources/droplets/responses/all_droplets.yml": {
        "description": "ok",
        "content": {"application/json": {"schema": {"$ref": "../models/droplet_list.yml"}}},
    },
    "resources/droplets/models/droplet_list.yml": {
        "type": "object",
        "properties": {"droplets": {"type": "array", "items": {"$ref": "droplet.yml"}}},
    },
    "resources/droplets/models/droplet.yml": {
        "type": "object",
        "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
    },
    "resources/droplets/droplets_create.yml": {
        "operationId": "droplets_create",
        "summary": "Create a droplet",
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "models/droplet_create.yml"}}},
        },
        "responses": {"202": {"description": "accepted"}},
    },
    "resources/droplets/models/droplet_create.yml": {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {"type": "string"},
            "size": {"type": "string"},
            "tags": {"$ref": "../../../shared/attributes/tags_array.yml"},
        },
    },
    "shared/parameters.yml": {
        "per_page": {"name": "per_page", "in": "query", "schema": {"$ref": "#/per_page_schema"}},
        "per_page_schema": {"type": "integer", "minimum": 1, "maximum": 200},
    },
    "shared/attributes/tags_array.yml": {"type": "array", "items": {"type": "string"}},
    "resources/droplets/droplet_item.yml": {
        "get": {
            "operationId": "droplets_get",
            "summary": "Retrieve a droplet",
            "parameters": [{"$ref": "../../api.yaml#/components/parameters/droplet_id"}],
            "responses": {"200": {"description": "ok"}},
        }
    },
}


def test_operations_and_parameters_in_sibling_files_import_in_full(tmp_path: Path) -> None:
    write(tmp_path, DO_LIKE)
    result = run(tmp_path / "api.yaml")
    actions = result.definition["actions"]
    assert list(actions) == ["DROPLETS_LIST", "DROPLETS_CREATE", "DROPLETS_GET"]
    assert result.skipped == []
    assert result.warnings == []
    listing = actions["DROPLETS_LIST"]
    assert listing["display_name"] == "List all droplets"
    assert listing["description"] == "List all droplets\n\nLists every droplet of the account."
    assert listing["inputs"]["per_page"] == {"type": "integer", "minimum": 1, "maximum": 200, "in": "query"}
    assert listing["inputs"]["tag_name"]["description"] == "Only this tag."
    assert listing["output"]["properties"]["droplets"]["items"]["properties"]["name"] == {"type": "string"}
    create = actions["DROPLETS_CREATE"]["inputs"]
    assert create["name"] == {"type": "string", "in": "body", "required": True}
    assert create["tags"] == {"type": "array", "items": {"type": "string"}, "in": "body"}
    assert actions["DROPLETS_GET"]["path"] == "/v2/droplets/${inputs.droplet_id}"
    assert actions["DROPLETS_GET"]["inputs"]["droplet_id"]["type"] == "integer"


def test_references_that_cannot_be_read_skip_only_their_operations(tmp_path: Path) -> None:
    (tmp_path / "outside.yml").write_text(yaml.safe_dump({"operationId": "secret", "responses": {}}))
    (tmp_path / "spec" / "ops").mkdir(parents=True)
    (tmp_path / "spec" / "ops" / "link.yml").symlink_to(tmp_path / "outside.yml")
    (tmp_path / "spec" / "ops" / "fine.yml").write_text(yaml.safe_dump(op(operationId="fine")))
    doc = oas3(
        {
            "/fine": {"get": {"$ref": "ops/fine.yml"}},
            "/missing": {"get": {"$ref": "ops/missing.yml"}},
            "/above": {"get": {"$ref": "../outside.yml"}},
            "/link": {"get": {"$ref": "ops/link.yml"}},
            "/url": {"get": {"$ref": "https://example.com/op.yml"}},
            "/absolute": {"get": {"$ref": str(tmp_path / "outside.yml")}},
            "/item": {"$ref": "ops/no-such-item.yml"},
        }
    )
    (tmp_path / "spec" / "api.json").write_text(json.dumps(doc))
    result = run(tmp_path / "spec" / "api.json")
    assert list(result.definition["actions"]) == ["PET_SHOP_FINE"]
    skipped = dict(line.split(": ", 1) for line in result.skipped)
    assert skipped["GET /missing"].startswith("$ref ops/missing.yml cannot be read (FileNotFoundError")
    assert skipped["GET /above"] == (
        "$ref ../outside.yml points above the document's directory; only files beside the document are read"
    )
    assert skipped["GET /link"] == "$ref ops/link.yml points outside the document's directory"
    assert skipped["GET /url"].startswith("$ref https://example.com/op.yml points at an URL or an absolute path")
    assert skipped["GET /absolute"].endswith(
        "points at an URL or an absolute path; only files beside the document are read"
    )
    assert any(
        w.startswith("/item: skipped: the path item's $ref ops/no-such-item.yml cannot be read")
        for w in result.warnings
    )
    assert "secret" not in json.dumps(result.definition)


def test_references_of_a_document_read_from_an_url_are_fetched_beside_it(upstream: Any) -> None:
    from tests.upstream import Reply

    doc = oas3({"/pets": {"get": {"$ref": "ops/list.json"}}, "/up": {"get": {"$ref": "../private.json"}}})
    upstream.route("GET", "/specs/api.json", Reply(200, doc))
    upstream.route("GET", "/specs/ops/list.json", Reply(200, op(operationId="listPets", summary="List pets")))
    upstream.route("GET", "/private.json", Reply(200, op(operationId="private")))
    result = import_openapi(upstream.url + "/specs/api.json")
    assert result.definition["actions"]["PET_SHOP_LIST_PETS"]["display_name"] == "List pets"
    assert [line.split(": ", 1)[0] for line in result.skipped] == ["GET /up"]
    assert [seen.path for seen in upstream.seen] == ["/specs/api.json", "/specs/ops/list.json"]


SQUARE_LIKE = {
    "components": {
        "schemas": {
            "CatalogObject": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "modifier": {"$ref": "#/components/schemas/CatalogModifierOverride"},
                },
            },
            "CatalogModifierOverride": {
                "type": "object",
                "properties": {"on_by_default": {"$ref": "#/components/schemas/CatalogModifierToggleOverrideType"}},
            },
        }
    }
}


def json_body(ref: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": {"$ref": ref}}}}


def test_a_ref_that_does_not_resolve_skips_only_the_operations_that_reach_it() -> None:
    catalog_object = "#/components/schemas/CatalogObject"
    answer = {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": catalog_object}}}}}
    doc = oas3(
        {
            "/catalog/object": {
                "post": op(operationId="upsertCatalogObject", requestBody=json_body(catalog_object)),
                "get": {"operationId": "listCatalog", "responses": answer},
            },
            "/locations": {"get": op(operationId="listLocations")},
            "/customers": {
                "get": op(operationId="listCustomers", parameters=[{"$ref": "#/components/parameters/Nope"}]),
                "post": op(operationId="createCustomer", requestBody={"$ref": "#/components/requestBodies/Nope"}),
            },
        },
        **SQUARE_LIKE,
    )
    result = run(doc)
    assert list(result.definition["actions"]) == ["PET_SHOP_LIST_CATALOG", "PET_SHOP_LIST_LOCATIONS"]
    assert result.skipped == [
        "POST /catalog/object: #/components/schemas/CatalogModifierOverride/properties/on_by_default: "
        "$ref #/components/schemas/CatalogModifierToggleOverrideType does not resolve",
        "GET /customers: #/paths/~1customers/get/parameters/0: $ref #/components/parameters/Nope does not resolve",
        "POST /customers: #/paths/~1customers/post/requestBody: $ref #/components/requestBodies/Nope does not resolve",
    ]
    # The answer's schema only documents the action: it is left out, and the action kept.
    assert "output" not in result.definition["actions"]["PET_SHOP_LIST_CATALOG"]
    assert (
        "GET /catalog/object: the response schema is left out: #/components/schemas/CatalogModifierOverride/"
        "properties/on_by_default: $ref #/components/schemas/CatalogModifierToggleOverrideType does not resolve"
    ) in result.warnings


def test_a_swagger2_ref_that_does_not_resolve_skips_its_operation() -> None:
    doc = swagger2(
        {
            "/pets": {"get": op(operationId="listPets", parameters=[{"$ref": "#/parameters/Nope"}])},
            "/stores": {"get": op(operationId="listStores")},
        }
    )
    result = run(doc)
    assert list(result.definition["actions"]) == ["PET_SHOP_LIST_STORES"]
    assert result.skipped == ["GET /pets: #/paths/~1pets/get/parameters/0: $ref #/parameters/Nope does not resolve"]
