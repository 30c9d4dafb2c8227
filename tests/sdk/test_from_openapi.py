"""OpenAPI import through the public API, on both backends, and through the CLI."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from plughub import AuthenticationSchema, IntegrationFactory, ModelFactory, ResponseStatus
from plughub.cli import cli
from plughub.exceptions import InvalidDefinition
from tests.upstream import Reply, Upstream

CORPUS = (
    Path("/work/shared/openapi")
    if Path("/work/shared/openapi").is_dir()
    else Path(__file__).resolve().parents[3] / "shared" / "openapi"
)
PETSTORE = CORPUS / "oai-petstore-expanded.yaml"

pytestmark = pytest.mark.skipif(not PETSTORE.exists(), reason="the shared OpenAPI corpus is not beside the repository")


@pytest.mark.usefixtures("any_backend")
def test_from_openapi_registers_a_working_integration(upstream: Upstream) -> None:
    upstream.route("GET", "/api/pets", Reply(200, [{"id": 1, "name": "Rex"}]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        pets = IntegrationFactory.from_openapi(str(PETSTORE), id="petstore", base_url=upstream.url + "/api")
    assert pets.id == "petstore"
    report = pets.additional_info["import_report"]
    assert report.operations == 4 and report.actions == 4
    assert IntegrationFactory.get("petstore").info.action_count == 4
    connection = pets.connect(AuthenticationSchema.NO_AUTH)
    tool = ModelFactory.get(connection.data["id"])
    codes = [a.code for a in tool.actions]
    assert "PETSTORE_FIND_PETS" in codes
    result = tool.run("PETSTORE_FIND_PETS", {"limit": 2, "tags": ["dog"]})
    assert result.status is ResponseStatus.SUCCESS, result.error_message
    assert result.data == [{"id": 1, "name": "Rex"}]
    assert ("limit", "2") in upstream.seen[-1].query


@pytest.mark.usefixtures("any_backend")
def test_a_malformed_document_names_the_json_pointer() -> None:
    document = yaml.safe_load(PETSTORE.read_text())
    document["paths"]["/pets"]["get"]["parameters"][0] = {"in": "query"}
    with pytest.raises(InvalidDefinition, match=r"#/paths/~1pets/get/parameters/0: a parameter needs a string"):
        IntegrationFactory.from_openapi(document, id="broken-pets")
    with pytest.raises(ValueError):
        IntegrationFactory.get("broken-pets")


@pytest.mark.usefixtures("any_backend")
def test_a_broken_ref_skips_only_its_operation_and_names_the_json_pointer() -> None:
    document = yaml.safe_load(PETSTORE.read_text())
    document["paths"]["/pets"]["get"]["parameters"][0] = {"$ref": "#/components/parameters/Nope"}
    with pytest.warns(UserWarning, match=r"1 of 4 operations were not imported .*#/paths/~1pets/get/parameters/0"):
        integration = IntegrationFactory.from_openapi(document, id="broken-pets")
    report = integration.additional_info["import_report"]
    assert report.actions == 3
    assert report.skipped == [
        "GET /pets: #/paths/~1pets/get/parameters/0: $ref #/components/parameters/Nope does not resolve"
    ]


def test_cli_import_registers_or_saves(tmp_path: Path) -> None:
    runner = CliRunner()
    saved = runner.invoke(
        cli, ["integrations", "import", str(PETSTORE), "--id", "pets", "--save", str(tmp_path), "--json"]
    )
    assert saved.exit_code == 0, saved.output
    summary = json.loads(saved.stdout)
    assert summary["actions"] == 4 and Path(summary["file"]).name == "pets.yaml"
    from plughub.engine.catalog import load_file

    assert len(load_file(Path(summary["file"])).actions) == 4
    registered = runner.invoke(
        cli, ["integrations", "import", str(PETSTORE), "--id", "pets-two", "--include", "/pets/{id}"]
    )
    assert registered.exit_code == 0, registered.output
    assert "Imported pets-two: 2 actions from 4 operations, registered." in registered.stdout
    shown = runner.invoke(cli, ["integrations", "show", "pets-two", "--json"])
    assert json.loads(shown.stdout)["action_count"] == 2
