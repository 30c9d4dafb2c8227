"""`IntegrationFactory.verify` on both backends, and `plughub integrations verify`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from plughub.backends import Backend
from plughub.cli import cli
from plughub.exceptions import IntegrationNotFound, InvalidDefinition
from plughub.factories import IntegrationFactory
from tests.openapi.docs import oas3, op

DOCUMENT = oas3(
    {
        "/notes": {
            "get": op(parameters=[{"name": "limit", "in": "query", "schema": {"type": "integer"}}]),
            "post": op(
                requestBody={
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["text"],
                                "properties": {"text": {"type": "string"}},
                            }
                        }
                    }
                }
            ),
        }
    },
    servers=[{"url": "https://notes.example.com/v1"}],
)
DEFINITION: dict[str, Any] = {
    "id": "notes-verify",
    "display_name": "Notes",
    "base_url": "https://notes.example.com/v1",
    "auth": [{"mode": "BEARER_TOKEN"}],
    "actions": {
        "NOTES_VERIFY_LIST": {
            "display_name": "List",
            "method": "GET",
            "path": "/notes",
            "inputs": {"limit": {"type": "integer"}},
        },
        "NOTES_VERIFY_CREATE": {
            "display_name": "Create",
            "method": "POST",
            "path": "/notes",
            "inputs": {"text": {"type": "string", "required": True}, "color": {"type": "string"}},
        },
        "NOTES_VERIFY_ARCHIVE": {"display_name": "Archive", "method": "POST", "path": "/notes/archive"},
    },
    "verified_against": {
        "document": "notes.json",
        "exceptions": {"NOTES_VERIFY_ARCHIVE": "Archiving came after the document."},
    },
}


@pytest.fixture
def document_file(tmp_path: Path) -> Path:
    path = tmp_path / "notes.json"
    path.write_text(json.dumps(DOCUMENT))
    return path


def test_verify_on_both_backends(any_backend: Backend, document_file: Path) -> None:
    IntegrationFactory.create(DEFINITION)
    report = IntegrationFactory.verify("notes-verify", document_file)
    assert report.documents == ["notes.json"]
    assert report.actions == 3
    assert [(f.action, f.kind) for f in report.findings] == [("NOTES_VERIFY_CREATE", "body_property_unknown")]
    assert [(f.action, f.accepted) for f in report.accepted] == [
        ("NOTES_VERIFY_ARCHIVE", "Archiving came after the document.")
    ]
    assert not report.ok
    # A parsed document, in a list, works too (named by its title).
    inline = IntegrationFactory.verify("notes-verify", [DOCUMENT])
    assert inline.documents == ["Pet Shop"]
    assert [f.message for f in inline.findings] == [
        f.message.replace("notes.json", "Pet Shop") for f in report.findings
    ]
    with pytest.raises(IntegrationNotFound):
        IntegrationFactory.verify("no-such-integration", document_file)
    with pytest.raises(InvalidDefinition, match="not an OpenAPI document"):
        IntegrationFactory.verify("notes-verify", {"info": {"title": "x"}})


def test_the_cli_prints_findings_and_exits_1(backend: Backend, document_file: Path) -> None:
    IntegrationFactory.create(DEFINITION)
    runner = CliRunner(env={"COLUMNS": "200"})
    result = runner.invoke(cli, ["integrations", "verify", "notes-verify", "--openapi", str(document_file)])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert lines[0] == "notes-verify against notes.json: 3 actions checked, 1 findings, 1 accepted."
    assert lines[1] == (
        "  NOTES_VERIFY_CREATE: body property unknown: input 'color' (body 'color') is not a property of the body "
        "of POST /notes (notes.json)"
    )
    assert lines[2].startswith("  accepted NOTES_VERIFY_ARCHIVE: route unknown: POST /v1/notes/archive")
    assert lines[3] == "      because: Archiving came after the document."
    as_json = runner.invoke(cli, ["integrations", "verify", "notes-verify", "--openapi", str(document_file), "--json"])
    assert as_json.exit_code == 1
    assert json.loads(as_json.output)["findings"][0]["kind"] == "body_property_unknown"
    missing = runner.invoke(cli, ["integrations", "verify", "notes-verify"])
    assert missing.exit_code == 2 and "--openapi" in missing.output


def test_the_cli_exits_0_when_the_definition_matches(backend: Backend, document_file: Path) -> None:
    matching = {**DEFINITION, "actions": {k: v for k, v in DEFINITION["actions"].items() if k != "NOTES_VERIFY_CREATE"}}
    IntegrationFactory.create(matching)
    result = CliRunner().invoke(cli, ["integrations", "verify", "notes-verify", "--openapi", str(document_file)])
    assert result.exit_code == 0, result.output
    assert "0 findings, 1 accepted" in result.output
