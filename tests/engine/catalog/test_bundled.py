"""The definitions shipped with plughub: they load, they are complete, they follow the format."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from plughub.engine.catalog import BUNDLED_DIR, IntegrationSpec, bundled_specs, load_file
from plughub.engine.catalog.schema import SCHEMA_FILE, definition_schema
from plughub.engine.catalog.templates import variables
from plughub.enums import AuthenticationSchema

FILES = sorted(p for p in BUNDLED_DIR.iterdir() if p.suffix in (".yaml", ".yml", ".json"))
UPPER_SNAKE = re.compile(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$")


def _real() -> dict[str, IntegrationSpec]:
    """Every bundled integration except the offline sandbox."""
    return {key: spec for key, spec in bundled_specs().items() if key != "sandbox"}


def _api_key_items(spec: IntegrationSpec) -> list[Any]:
    entry = spec.auth_for(AuthenticationSchema.API_KEY)
    return entry.apply_items() if entry is not None else []


def test_there_are_bundled_files() -> None:
    assert FILES, f"no definition files in {BUNDLED_DIR}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_bundled_file_loads(path: Path) -> None:
    spec = load_file(path)
    assert spec.id == path.stem
    assert bundled_specs()[spec.id] == spec


def test_at_least_25_real_integrations() -> None:
    assert len(_real()) >= 25, sorted(_real())


def test_github_and_slack_exist() -> None:
    specs = bundled_specs()
    assert "github" in specs
    assert "slack" in specs


def test_all_six_schemes_are_covered() -> None:
    covered = {auth.scheme for spec in _real().values() for auth in spec.auth}
    assert covered == set(AuthenticationSchema), set(AuthenticationSchema) - covered


@pytest.mark.parametrize("integration_id", sorted(k for k, s in bundled_specs().items() if s.protocol == "http"))
def test_each_integration_has_at_least_four_actions(integration_id: str) -> None:
    assert len(bundled_specs()[integration_id].actions) >= 4


def test_the_mcp_integration_takes_its_tools_from_the_server() -> None:
    spec = bundled_specs()["mcp"]
    assert spec.protocol == "mcp" and spec.actions == {}
    assert [a.mode for a in spec.auth] == ["NO_AUTH", "BEARER_TOKEN", "API_KEY", "OAUTH2"]


@pytest.mark.parametrize("integration_id", sorted(bundled_specs()))
def test_action_codes_are_upper_snake_case_with_the_prefix(integration_id: str) -> None:
    spec = bundled_specs()[integration_id]
    prefix = integration_id.upper().replace("-", "_") + "_"
    assert spec.action_prefix == prefix
    for code in spec.actions:
        assert UPPER_SNAKE.match(code), code
        assert code.startswith(prefix), code
        assert len(code) > len(prefix), code


@pytest.mark.parametrize("integration_id", sorted(bundled_specs()))
def test_action_input_schemas_are_valid_json_schema(integration_id: str) -> None:
    for code, action in bundled_specs()[integration_id].actions.items():
        schema = action.input_schema
        Draft202012Validator.check_schema(schema)
        assert schema["type"] == "object"
        assert set(schema["required"]) <= set(schema["properties"]), code


def test_some_integration_uses_connection_config_in_base_url() -> None:
    users = [
        key
        for key, spec in _real().items()
        if spec.connection_config and any(ns == "connection_config" for ns, _ in variables(spec.base_url))
    ]
    assert users
    for key in users:
        spec = _real()[key]
        assert {name for _ns, name in variables(spec.base_url)} <= set(spec.connection_config)


def test_some_integration_sends_an_api_key_as_a_query_parameter() -> None:
    assert [key for key, spec in _real().items() if any(i.query for i in _api_key_items(spec))]


def test_some_integration_sends_an_api_key_in_a_custom_header() -> None:
    custom = [
        key
        for key, spec in _real().items()
        if any(i.header and i.header.lower() != "authorization" for i in _api_key_items(spec))
    ]
    assert custom


def test_some_integration_is_no_auth_only() -> None:
    assert [key for key, spec in _real().items() if [a.mode for a in spec.auth] == ["NO_AUTH"]]


def test_oauth2_entries_have_https_endpoints() -> None:
    # The sandbox integrations run on 127.0.0.1 by design; every real provider uses https.
    entries = [
        (key, auth)
        for key, spec in bundled_specs().items()
        for auth in spec.auth
        if auth.mode == "OAUTH2" and not key.startswith("sandbox") and not auth.discovery
    ]
    assert entries
    for key, auth in entries:
        assert auth.token_url, key
        assert auth.token_url.startswith("https://"), (key, auth.token_url)
        if auth.grant_type == "authorization_code":
            assert auth.authorization_url, key
            assert auth.authorization_url.startswith("https://"), (key, auth.authorization_url)


def test_committed_json_schema_is_current() -> None:
    committed = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert committed == definition_schema(), (
        f"{SCHEMA_FILE} is out of date; regenerate it with "
        "`plughub integrations schema > plughub/engine/catalog/definition.schema.json`"
    )


def test_json_schema_is_valid_draft_2020_12() -> None:
    Draft202012Validator.check_schema(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_bundled_file_validates_against_the_json_schema(path: Path) -> None:
    validator = Draft202012Validator(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]
    assert not errors, errors


def test_json_schema_rejects_what_the_loader_rejects() -> None:
    # The exported schema is strict too, so editors flag the same mistakes.
    validator = Draft202012Validator(definition_schema())
    document = yaml.safe_load((BUNDLED_DIR / "sandbox.yaml").read_text(encoding="utf-8"))
    assert validator.is_valid(document)
    assert not validator.is_valid({**document, "unknown_key": 1})
    assert not validator.is_valid({**document, "auth": [{"mode": "OAUTH3"}]})


def test_the_catalog_page_is_current() -> None:
    from pathlib import Path

    from plughub.engine.catalog import Catalog
    from plughub.engine.catalog.markdown import catalog_markdown

    page = Path(__file__).resolve().parents[3] / "docs" / "catalog.md"
    assert page.read_text(encoding="utf-8") == catalog_markdown(Catalog()), (
        "docs/catalog.md is out of date; regenerate it with `plughub integrations docs > docs/catalog.md`"
    )


def test_at_least_150_integrations_in_categories() -> None:
    specs = {k: v for k, v in bundled_specs().items() if not k.startswith("sandbox")}
    assert len(specs) >= 150
    assert all(spec.categories for spec in specs.values())
