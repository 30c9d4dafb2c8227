"""The loader: broken definitions are refused with the file and the key; templates are strict."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from plughub.config import Settings
from plughub.engine import Engine
from plughub.engine.catalog import Catalog, load_directory, load_file, parse_definition
from plughub.engine.catalog.templates import render, variables
from plughub.exceptions import CatalogError, InvalidInput

GOOD = """\
id: acme
display_name: Acme
description: Test service.
base_url: https://${connection_config.subdomain}.acme.example/api
connection_config:
  subdomain: {type: string, description: Workspace subdomain}
auth:
  - mode: API_KEY
    apply: {header: X-Api-Key}
actions:
  ACME_GET_ITEM:
    display_name: Get item
    method: GET
    path: /items/${inputs.item_id}
    inputs:
      item_id: {type: string, required: true, description: Item id}
"""
ITEM_INPUT = "item_id: {type: string, required: true, description: Item id}"


def _write(directory: Path, text: str, name: str = "acme.yaml") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def _broken(tmp_path: Path, old: str, new: str, name: str = "acme.yaml") -> Path:
    assert old in GOOD, old
    return _write(tmp_path / "defs", GOOD.replace(old, new, 1), name)


def _fails(path: Path, *fragments: str) -> str:
    """Load a file, expect a CatalogError naming the file and every fragment, return the message."""
    with pytest.raises(CatalogError, match=re.escape(str(path))) as info:
        load_file(path)
    for fragment in fragments:
        assert fragment in info.value.message, (fragment, info.value.message)
    return info.value.message


def test_the_good_definition_loads(tmp_path: Path) -> None:
    spec = load_file(_write(tmp_path, GOOD))
    assert spec.id == "acme"
    assert spec.actions["ACME_GET_ITEM"].input_schema["required"] == ["item_id"]
    assert spec.actions["ACME_GET_ITEM"].inputs["item_id"].location is None


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = _broken(tmp_path, "display_name: Acme\n", "display_name: [Acme\n")
    message = _fails(path, "not valid YAML")
    assert re.search(r"line \d+", message), message
    # The unclosed bracket opens on line 2; the parser notices by line 3 at the latest.
    line = int(re.search(r"line (\d+)", message).group(1))  # type: ignore[union-attr]
    assert 2 <= line <= 3, message


def test_unknown_top_level_key(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD + "colour: blue\n")
    _fails(path, "colour", "Extra inputs are not permitted")


def test_wrong_mode_value(tmp_path: Path) -> None:
    path = _broken(tmp_path, "mode: API_KEY", "mode: APIKEY")
    _fails(path, "auth.0", "mode", "APIKEY", "API_KEY")


def test_oauth2_without_token_url(tmp_path: Path) -> None:
    path = _broken(
        tmp_path,
        "  - mode: API_KEY\n",
        "  - mode: OAUTH2\n    authorization_url: https://acme.example/authorize\n  - mode: API_KEY\n",
    )
    _fails(path, "auth.0.token_url", "Field required")


def test_oauth2_authorization_code_without_authorization_url(tmp_path: Path) -> None:
    path = _broken(
        tmp_path,
        "  - mode: API_KEY\n",
        "  - mode: OAUTH2\n    token_url: https://acme.example/token\n  - mode: API_KEY\n",
    )
    _fails(path, "auth.0", "authorization_url is required")


def test_action_code_without_prefix(tmp_path: Path) -> None:
    path = _broken(tmp_path, "ACME_GET_ITEM", "GET_ITEM")
    _fails(path, "actions.GET_ITEM", "start with ACME_")


def test_action_code_not_upper_snake_case(tmp_path: Path) -> None:
    path = _broken(tmp_path, "ACME_GET_ITEM", "ACME_getItem")
    _fails(path, "actions.ACME_getItem", "upper snake case")


def test_path_template_with_undeclared_input(tmp_path: Path) -> None:
    path = _broken(tmp_path, "/items/${inputs.item_id}", "/items/${inputs.thing}")
    _fails(path, "actions.ACME_GET_ITEM.path", "${inputs.thing}", "declared: item_id")


def test_unknown_credential_in_apply_format(tmp_path: Path) -> None:
    path = _broken(tmp_path, "{header: X-Api-Key}", '{header: Authorization, format: "Token ${credentials.secret}"}')
    _fails(path, "auth.0.apply.0.format", "${credentials.secret}", "declared: api_key")


def test_base_url_with_undeclared_connection_config(tmp_path: Path) -> None:
    path = _broken(tmp_path, "${connection_config.subdomain}.acme", "${connection_config.region}.acme")
    _fails(path, "base_url", "${connection_config.region}", "declared: subdomain")


def test_path_input_not_used_in_the_path(tmp_path: Path) -> None:
    path = _broken(tmp_path, ITEM_INPUT, ITEM_INPUT + "\n      other: {type: string, in: path}")
    _fails(path, "actions.ACME_GET_ITEM.inputs.other.in", "${inputs.other}")


def test_path_variable_placed_elsewhere(tmp_path: Path) -> None:
    path = _broken(tmp_path, ITEM_INPUT, "item_id: {type: string, required: true, in: query}")
    _fails(path, "actions.ACME_GET_ITEM.inputs.item_id.in", "must go in the path")


def test_input_key_that_is_not_a_json_schema_keyword(tmp_path: Path) -> None:
    path = _broken(tmp_path, ITEM_INPUT, "item_id: {type: string, required: true, colour: red}")
    _fails(path, "actions.ACME_GET_ITEM.inputs.item_id.colour", "not a JSON Schema keyword")


def test_null_value_from_an_unquoted_comma(tmp_path: Path) -> None:
    # `description: Item id, title` parses as {description: "Item id", title: null}.
    path = _broken(tmp_path, ITEM_INPUT, "item_id: {type: string, required: true, description: Item id, title}")
    _fails(path, "actions.ACME_GET_ITEM.inputs.item_id.title", "has no value", "unquoted comma")


def test_get_with_a_body_input(tmp_path: Path) -> None:
    path = _broken(tmp_path, ITEM_INPUT, ITEM_INPUT + "\n      text: {type: string, in: body}")
    _fails(path, "actions.ACME_GET_ITEM.inputs.text.in", "GET request has no body")


def test_invalid_input_json_schema(tmp_path: Path) -> None:
    path = _broken(tmp_path, ITEM_INPUT, "item_id: {type: strung, required: true}")
    _fails(path, "actions.ACME_GET_ITEM.inputs", "not valid JSON Schema")


@pytest.mark.parametrize(
    ("schema", "problem"),
    [
        # jsonschema-rs checks the schema first but not its patterns: Python's re must compile them.
        ("{type: string, required: true, pattern: '('}", "at properties.item_id.pattern: '(' is not a 'regex'"),
        ("{type: object, required: true, patternProperties: {'[': {}}}", "is not a 'regex'"),
        ("{type: string, required: true, minLength: -1}", "at properties.item_id.minLength: -1 is less than"),
    ],
)
def test_input_schemas_that_jsonschema_refuses(tmp_path: Path, schema: str, problem: str) -> None:
    _fails(_broken(tmp_path, ITEM_INPUT, f"item_id: {schema}"), "actions.ACME_GET_ITEM.inputs", problem)


def test_file_name_must_match_the_id(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD, "other.yaml")
    _fails(path, "id:", "'acme'", "'other'")


def test_same_id_twice_in_a_directory(tmp_path: Path) -> None:
    first = _write(tmp_path / "defs", GOOD, "acme.yaml")
    second = _write(tmp_path / "defs", GOOD, "acme.yml")
    with pytest.raises(CatalogError, match=re.escape(str(second))) as info:
        load_directory(tmp_path / "defs")
    assert "id: 'acme'" in info.value.message
    assert f"also defined in {first}" in info.value.message


@pytest.mark.parametrize("text, kind", [("- a\n- b\n", "list"), ("just text\n", "str"), ("", "NoneType")])
def test_a_document_that_is_not_a_mapping(tmp_path: Path, text: str, kind: str) -> None:
    path = _write(tmp_path, text)
    _fails(path, "must be a mapping", kind)


def test_parse_definition_names_its_source() -> None:
    with pytest.raises(CatalogError, match=r"^stored integration 'x': display_name: Field required"):
        parse_definition(
            {"id": "x", "base_url": "https://x.example", "auth": [{"mode": "NO_AUTH"}]}, source="stored integration 'x'"
        )


def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.yaml"
    with pytest.raises(CatalogError, match=re.escape(str(path)) + ".*cannot read"):
        load_file(path)


# Catalog directories


def test_extra_directory_adds_and_overrides(tmp_path: Path) -> None:
    directory = tmp_path / "defs"
    added = _write(directory, GOOD)
    override = _write(
        directory,
        """\
id: hacker-news
display_name: My Hacker News
base_url: https://hn.internal.example/v0
auth:
  - mode: NO_AUTH
actions:
  HACKER_NEWS_TOP:
    display_name: Top
    path: /top.json
""",
        "hacker-news.yaml",
    )
    bundled = Catalog()
    assert not bundled.contains("acme")
    assert bundled.spec("hacker-news").display_name != "My Hacker News"

    catalog = Catalog([directory])
    assert len(catalog) == len(bundled) + 1
    assert catalog.spec("acme").display_name == "Acme"
    assert catalog.info("acme").source == str(added)
    assert catalog.spec("hacker-news").display_name == "My Hacker News"
    assert list(catalog.spec("hacker-news").actions) == ["HACKER_NEWS_TOP"]
    assert catalog.info("hacker-news").source == str(override)
    assert catalog.info("github").source == "bundled"


def test_later_directories_win(tmp_path: Path) -> None:
    _write(tmp_path / "one", GOOD)
    _write(tmp_path / "two", GOOD.replace("display_name: Acme\n", "display_name: Acme Two\n"))
    assert Catalog([tmp_path / "one", tmp_path / "two"]).spec("acme").display_name == "Acme Two"
    assert Catalog([tmp_path / "two", tmp_path / "one"]).spec("acme").display_name == "Acme"


def test_missing_directory_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(CatalogError, match=re.escape(str(missing)) + ".*does not exist"):
        Catalog([missing])


def test_engine_refuses_a_broken_catalog_path_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _broken(tmp_path, "mode: API_KEY", "mode: API_KEY\n    colour: blue")
    monkeypatch.setenv("PLUGHUB_CATALOG_PATH", str(path.parent))
    settings = Settings.from_env()
    assert settings.catalog_path == (path.parent,)
    with pytest.raises(CatalogError, match=re.escape(str(path)) + r": auth\.0\.colour"):
        Engine(settings)


def test_engine_loads_a_good_catalog_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path / "defs", GOOD)
    monkeypatch.setenv("PLUGHUB_CATALOG_PATH", str(tmp_path / "defs"))
    engine = Engine(Settings.from_env())
    try:
        assert engine.integrations.get("acme").id == "acme"
    finally:
        engine.close()


# Templates


def test_variables_lists_in_order() -> None:
    assert variables("/a/${inputs.x}/${connection_config.y}?${credentials.z}") == (
        ("inputs", "x"),
        ("connection_config", "y"),
        ("credentials", "z"),
    )
    assert variables("no placeholders") == ()


def test_variables_unknown_namespace() -> None:
    expected = r"unknown template namespace 'secrets'.*connection_config, credentials, inputs"
    with pytest.raises(CatalogError, match=expected):
        variables("/x/${secrets.token}")


@pytest.mark.parametrize(
    "template", ["/x/${inputs}", "/x/${inputs.}", "/x/${inputs.a", "/x/${ inputs.a }", "/x/${inputs.a.b}", "/x/${}"]
)
def test_variables_malformed_placeholder(template: str) -> None:
    with pytest.raises(CatalogError, match="malformed template placeholder"):
        variables(template)


def test_malformed_placeholder_in_a_definition(tmp_path: Path) -> None:
    path = _broken(tmp_path, "/items/${inputs.item_id}", "/items/${inputs.item_id")
    _fails(path, "actions.ACME_GET_ITEM.path", "malformed template placeholder")


def test_unknown_namespace_in_a_definition(tmp_path: Path) -> None:
    path = _broken(tmp_path, "${connection_config.subdomain}.acme", "${conf.subdomain}.acme")
    _fails(path, "base_url", "unknown template namespace 'conf'")


def test_trigger_namespace_in_an_action_place(tmp_path: Path) -> None:
    # `config` is a trigger's namespace (a subscriber's values): a base URL cannot use it.
    path = _broken(tmp_path, "${connection_config.subdomain}.acme", "${config.subdomain}.acme")
    _fails(path, "base_url", "${config.subdomain} cannot be used here")


def test_namespace_not_allowed_here(tmp_path: Path) -> None:
    path = _broken(tmp_path, "${connection_config.subdomain}.acme", "${inputs.item_id}.acme")
    _fails(path, "base_url", "${inputs.item_id} cannot be used here")


def test_render_fills_values() -> None:
    values = {"inputs": {"a": "x y", "flag": True, "n": 3}, "connection_config": {"sub": "team"}}
    assert render("https://${connection_config.sub}.example/${inputs.a}", values) == "https://team.example/x y"
    assert render("/${inputs.flag}/${inputs.n}", values) == "/true/3"
    assert render("/${inputs.a}", values, escape=lambda s: s.replace(" ", "%20")) == "/x%20y"
    assert render("/plain", {}) == "/plain"


def test_render_missing_value_raises_invalid_input() -> None:
    with pytest.raises(InvalidInput, match=re.escape("no value for ${inputs.item_id}: provide 'item_id'")):
        render("/items/${inputs.item_id}", {"inputs": {}})
    with pytest.raises(InvalidInput, match=re.escape("${inputs.item_id}")):
        render("/items/${inputs.item_id}", {"inputs": {"item_id": None}})
    with pytest.raises(InvalidInput, match=re.escape("${connection_config.sub}")):
        render("https://${connection_config.sub}.example", {})


# Bugs found by these tests (plughub/ is left unchanged; see the reasons).


def test_valid_regex_pattern_in_an_input_is_checked(tmp_path: Path) -> None:
    path = _broken(tmp_path, ITEM_INPUT, "item_id: {type: string, required: true, pattern: '[a-z'}")
    _fails(path, "actions.ACME_GET_ITEM.inputs", "not a 'regex'")


def test_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "acme.yaml"
    path.write_bytes(GOOD.replace("display_name: Acme\n", "display_name: Acm\xe9\n").encode("latin-1"))
    _fails(path, "UTF-8")


def test_connection_config_pattern_that_is_not_a_regex(tmp_path: Path) -> None:
    path = _broken(
        tmp_path,
        "{type: string, description: Workspace subdomain}",
        "{type: string, description: Workspace subdomain, pattern: '[a-z'}",
    )
    _fails(path, "connection_config.subdomain.pattern")


def test_the_same_action_code_twice(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD + "  ACME_GET_ITEM:\n    display_name: Again\n    path: /again\n")
    _fails(path, "ACME_GET_ITEM")


def test_search_covers_actions_and_categories() -> None:
    catalog = Catalog()
    by_action = [i.id for i in catalog.search("comment issue")]
    assert "github" in by_action  # GITHUB_CREATE_ISSUE_COMMENT: found through its action
    assert {i.id for i in catalog.search(category="payments")} >= {"stripe"}
    assert all("payments" in i.categories for i in catalog.search(category="payments"))
    assert catalog.categories()["payments"] >= 1


def test_bundled_definitions_load_lazily() -> None:
    catalog = Catalog()
    assert catalog.contains("github") and not catalog._bundled  # nothing parsed yet
    catalog.spec("github")
    assert set(catalog._bundled) == {"github"}
