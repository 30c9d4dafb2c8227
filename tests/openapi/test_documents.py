"""Reading documents: sources, versions, metadata, filters, and malformed documents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from plughub.engine.openapi import ImportResult, import_openapi
from plughub.exceptions import CatalogError
from tests.openapi.docs import oas3, op, run

PATHS = {
    "/pets": {"get": op(operationId="listPets", tags=["pets"]), "post": op(operationId="addPet", tags=["pets"])},
    "/pets/{id}": {
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "get": op(operationId="getPet", tags=["pets"]),
        "delete": op(operationId="deletePet", tags=["admin"]),
    },
    "/stores": {"get": op(operationId="listStores", tags=["stores"])},
}


def codes(result: ImportResult) -> list[str]:
    return list(result.definition["actions"])


def test_metadata_defaults_from_info() -> None:
    doc = oas3(
        PATHS,
        info={"title": "Acme Pet Shop API", "version": "2", "description": "Pets and stores.\n\nMore text here."},
        externalDocs={"url": "https://docs.acme.example"},
    )
    definition = run(doc).definition
    assert definition["id"] == "acme-pet-shop-api"
    assert definition["display_name"] == "Acme Pet Shop API"
    assert definition["description"] == "Pets and stores."
    assert definition["docs"] == "https://docs.acme.example"
    assert codes(run(doc))[0] == "ACME_PET_SHOP_API_LIST_PETS"


def test_id_and_name_arguments() -> None:
    result = run(oas3(PATHS), id="pets", name="Pets!")
    assert result.definition["id"] == "pets"
    assert result.definition["display_name"] == "Pets!"
    assert codes(result) == ["PETS_LIST_PETS", "PETS_ADD_PET", "PETS_GET_PET", "PETS_DELETE_PET", "PETS_LIST_STORES"]
    with pytest.raises(CatalogError, match="id: 'Not An Id'"):
        import_openapi(oas3(PATHS), id="Not An Id")


def test_a_long_description_is_cut_to_300_characters() -> None:
    doc = oas3(PATHS, info={"title": "T", "version": "1", "description": "word " * 200})
    assert len(run(doc).definition["description"]) <= 300


def test_operations_are_counted_and_filters_skip_with_a_reason() -> None:
    result = run(oas3(PATHS), include=["pets"], exclude=["/pets/{id}"])
    assert result.operations == 5
    assert codes(result) == ["PET_SHOP_LIST_PETS", "PET_SHOP_ADD_PET"]
    assert len(result.skipped) == 3
    assert "GET /stores: left out: matches no include filter" in result.skipped
    assert "GET /pets/{id}: left out: matches an exclude filter" in result.skipped
    assert len(codes(result)) == result.operations - len(result.skipped)


def test_a_path_prefix_matches_whole_segments() -> None:
    result = run(oas3(PATHS), include=["/pets"])
    assert len(codes(result)) == 4
    assert codes(run(oas3(PATHS), include=["/pe"])) == []
    assert codes(run(oas3(PATHS), include=["admin", "/stores"])) == ["PET_SHOP_DELETE_PET", "PET_SHOP_LIST_STORES"]


def test_sources_a_yaml_file_a_json_file_and_an_url(tmp_path: Path) -> None:
    doc = oas3(PATHS)
    (tmp_path / "api.yaml").write_text(yaml.safe_dump(doc))
    (tmp_path / "api.json").write_text(json.dumps(doc))
    expected = run(doc).definition
    assert run(tmp_path / "api.yaml").definition == expected
    assert run(str(tmp_path / "api.json")).definition == expected
    fetched: list[str] = []

    def fetch(url: str) -> bytes:
        fetched.append(url)
        return yaml.safe_dump(doc).encode()

    assert run("https://example.com/openapi.yaml", fetch=fetch).definition == expected
    assert fetched == ["https://example.com/openapi.yaml"]


def test_an_url_is_fetched_with_httpx_by_default(upstream: Any) -> None:
    from tests.upstream import Reply

    upstream.route("GET", "/openapi.json", Reply(200, oas3(PATHS)))
    result = import_openapi(upstream.url + "/openapi.json")
    assert len(result.definition["actions"]) == 5


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("not a file.yaml", "cannot read the file"),
        ("https://example.com/x.json", "cannot fetch the document"),
    ],
)
def test_unreadable_sources(source: str, message: str) -> None:
    with pytest.raises(CatalogError, match=message):
        run(source)


def test_text_that_is_not_yaml(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("openapi: [3.0\n")
    with pytest.raises(CatalogError, match="not valid JSON or YAML"):
        import_openapi(tmp_path / "bad.yaml")


def broken(**changes: Any) -> dict[str, Any]:
    doc = oas3(PATHS)
    doc.update(changes)
    return doc


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([1, 2], "#: an OpenAPI document must be a mapping"),
        ({"info": {"title": "x"}}, "#: not an OpenAPI document"),
        (broken(openapi="4.0.0"), "#/openapi: version '4.0.0' is not supported"),
        ({"swagger": "1.2", "paths": {}}, "#/swagger: version '1.2' is not supported"),
        (broken(paths=["/pets"]), "#/paths: must be a mapping"),
        (broken(paths={"/pets": "nope"}), "#/paths/~1pets: a path item must be a mapping"),
        (broken(paths={"/pets/{id}": {"get": ["nope"]}}), "#/paths/~1pets~1{id}/get: an operation must be a mapping"),
        (
            broken(paths={"/pets": {"get": op(parameters=[{"in": "query"}])}}),
            "#/paths/~1pets/get/parameters/0: a parameter needs a string `name` and `in`",
        ),
        (
            broken(paths={"/pets": {"get": op(parameters={"name": "x"})}}),
            "#/paths/~1pets/get/parameters: must be a list",
        ),
        (broken(security={"a": []}), "#/security: must be a list"),
        (broken(servers=[{"description": "no url"}]), "#/servers/0: a server must be a mapping with a string `url`"),
    ],
)
def test_malformed_documents_name_the_json_pointer(doc: Any, message: str) -> None:
    with pytest.raises(CatalogError) as info:
        import_openapi(doc)
    assert message in info.value.message


def test_a_document_with_only_webhooks_imports_with_no_actions() -> None:
    doc = oas3(version="3.1.0", webhooks={"newPet": {"post": op()}})
    del doc["paths"]
    result = run(doc, base_url="https://api.example.com")
    assert result.operations == 0
    assert result.definition["actions"] == {}


def test_path_item_refs_and_extensions_are_handled() -> None:
    doc = oas3(
        {"/pets": {"$ref": "#/components/pathItems/Pets"}, "x-internal": {"get": "ignored"}},
        version="3.1.0",
        components={"pathItems": {"Pets": {"get": op(operationId="listPets")}}},
    )
    result = run(doc)
    assert codes(result) == ["PET_SHOP_LIST_PETS"]
    assert result.operations == 1


def test_an_external_ref_in_a_parsed_document_skips_the_operation_with_a_warning() -> None:
    doc = oas3({"/pets": {"get": op(operationId="listPets", parameters=[{"$ref": "common.yaml#/Limit"}])}})
    result = run(doc)
    assert result.skipped == [
        "GET /pets: $ref common.yaml#/Limit points at another file, and the document's location is unknown "
        "(import it by path)"
    ]
    assert any(w.startswith("GET /pets: skipped") for w in result.warnings)
