"""Reuse in definitions: the default `Accept`, shared inputs (`inputs`, `use`, `$input`) and their errors."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from plughub import AuthenticationSchema, ConnectionTool, IntegrationFactory, ModelFactory, ResponseStatus
from plughub.engine.catalog import BUNDLED_DIR, bundled_specs, parse_definition
from plughub.exceptions import CatalogError
from tests.upstream import Reply, Upstream

SHARED = {
    "per_page": {"type": "integer", "in": "query", "minimum": 1, "maximum": 100, "description": "Results per page."},
    "page": {"type": "integer", "in": "query", "minimum": 1, "description": "Page number."},
}


def _definition(base_url: str = "https://notes.example", **extra: Any) -> dict[str, Any]:
    return {
        "id": "notes",
        "display_name": "Notes",
        "base_url": base_url,
        "auth": [{"mode": "NO_AUTH"}],
        "inputs": copy.deepcopy(SHARED),
        "actions": {
            "NOTES_LIST": {
                "display_name": "List notes",
                "path": "/notes",
                "inputs": {"q": {"type": "string"}},
                "use": ["per_page", "page"],
            },
            "NOTES_LIST_TAGS": {
                "display_name": "List tags",
                "path": "/tags",
                "inputs": {"size": {"$input": "per_page", "maximum": 50}},
            },
        },
        **extra,
    }


def _connect(definition: dict[str, Any]) -> ConnectionTool:
    integration = IntegrationFactory.create(definition)
    tool = ModelFactory.get(integration.connect(AuthenticationSchema.NO_AUTH).data["id"])
    assert isinstance(tool, ConnectionTool)
    return tool


def test_use_adds_shared_inputs_after_the_actions_own() -> None:
    spec = parse_definition(_definition())
    listed = spec.actions["NOTES_LIST"]
    assert list(listed.inputs) == ["q", "per_page", "page"]
    assert listed.inputs["per_page"].json_schema() == {k: v for k, v in SHARED["per_page"].items() if k != "in"}
    assert listed.inputs["per_page"].location == "query"
    assert listed.use == ["per_page", "page"]


def test_an_input_reference_takes_the_shared_input_with_keys_on_top() -> None:
    size = parse_definition(_definition()).actions["NOTES_LIST_TAGS"].inputs["size"]
    assert size.json_schema()["maximum"] == 50
    assert size.json_schema()["minimum"] == 1
    assert size.location == "query"


def test_the_definition_given_is_not_changed() -> None:
    definition = _definition()
    before = copy.deepcopy(definition)
    parse_definition(definition)
    assert definition == before


@pytest.mark.usefixtures("any_backend")
def test_shared_inputs_are_sent_like_any_other(upstream: Upstream) -> None:
    upstream.route("GET", "/tags", Reply(200, []))
    tool = _connect(_definition(upstream.url))
    assert tool.run("NOTES_LIST_TAGS", {"size": 20}).status is ResponseStatus.SUCCESS
    assert upstream.seen[-1].query == [("size", "20")]
    refused = pytest.raises(ValueError, match="size")
    with refused:
        tool.run("NOTES_LIST_TAGS", {"size": 51})  # the action's own maximum


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            lambda d: d["actions"]["NOTES_LIST"].update(use=["per_page", "pge"]),
            "actions.NOTES_LIST.use.1: 'pge' is not a shared input (shared inputs: per_page, page)",
        ),
        (
            lambda d: d["actions"]["NOTES_LIST_TAGS"]["inputs"]["size"].update({"$input": "sizes"}),
            "actions.NOTES_LIST_TAGS.inputs.size.$input: 'sizes' is not a shared input",
        ),
        (
            lambda d: d["actions"]["NOTES_LIST"]["inputs"].update(page={"type": "string"}),
            "actions.NOTES_LIST.use.1: 'page' is also one of the action's own inputs; drop one",
        ),
        (
            lambda d: d["actions"]["NOTES_LIST"].update(use=["page", "page"]),
            "actions.NOTES_LIST.use.1: 'page' is listed twice in use",
        ),
        (
            lambda d: d.pop("inputs"),
            "actions.NOTES_LIST.use.0: 'per_page' is not a shared input (shared inputs: none: declare them",
        ),
        (
            lambda d: d["inputs"].update({"bad name": {"type": "string"}}),
            "inputs.bad name: input names match",
        ),
        (lambda d: d["inputs"]["page"].update(colour="red"), "inputs.page.colour: not a JSON Schema keyword"),
        (
            lambda d: d["actions"]["NOTES_LIST"].update(use="page"),
            "actions.NOTES_LIST.use: Input should be a valid list",
        ),
    ],
)
def test_a_bad_reference_is_a_load_error_naming_the_file_and_key(change: Any, problem: str) -> None:
    definition = _definition()
    change(definition)
    with pytest.raises(CatalogError) as caught:
        parse_definition(definition, source="notes.yaml")
    assert caught.value.message.startswith("notes.yaml: "), caught.value.message
    assert problem in caught.value.message


@pytest.mark.usefixtures("any_backend")
def test_accept_json_is_the_default_and_a_definition_can_say_otherwise(upstream: Upstream) -> None:
    upstream.route("GET", "/notes", Reply(200, []))
    upstream.route("GET", "/tags", Reply(200, "a,b"))
    definition = _definition(upstream.url)
    definition["actions"]["NOTES_LIST_TAGS"]["headers"] = {"Accept": "text/csv"}
    tool = _connect(definition)
    tool.run("NOTES_LIST", {})
    assert upstream.seen[-1].header("Accept") == "application/json"
    assert tool.run("NOTES_LIST_TAGS", {}).data == "a,b"
    assert upstream.seen[-1].header("Accept") == "text/csv"


def test_no_bundled_file_repeats_the_default_accept() -> None:
    repeated = [
        path.name
        for path in sorted(BUNDLED_DIR.glob("*.yaml"))
        if "Accept: application/json\n" in path.read_text(encoding="utf-8")
    ]
    assert repeated == []


def test_the_bundled_catalog_shares_its_repeated_inputs() -> None:
    # Every input written identically in two or more actions of one file is a shared input.
    import yaml

    repeated: list[str] = []
    for path in sorted(BUNDLED_DIR.glob("*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        seen: dict[str, int] = {}
        for action in (raw.get("actions") or {}).values():
            for name, value in (action.get("inputs") or {}).items():
                if "$input" not in value:
                    key = f"{name}={sorted(value.items())!r}"
                    seen[key] = seen.get(key, 0) + 1
        repeated += [f"{path.name}: {key.split('=')[0]}" for key, count in seen.items() if count >= 2]
    assert repeated == []
    assert sum(len(spec.inputs) for spec in bundled_specs().values()) > 0
