"""Every document of the OpenAPI corpus imports, and its definition loads.

`actions == operations - skipped`, with `operations` as MANIFEST.md counts them. Every input
schema passes `Draft202012Validator.check_schema`: `parse_definition` runs exactly that check on
each action, and the test repeats it explicitly on the documents under 1 MB (repeating it on the
3 MB ones would double the test's time). No input schema keeps a `$ref`.
"""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from plughub.engine.catalog import parse_definition
from plughub.engine.catalog.loader import JSON_SCHEMA_KEYWORDS
from plughub.engine.openapi import import_openapi
from tests.openapi.corpus import CORPUS, corpus_files, document, manifest_operations
from tests.openapi.docs import offline

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not corpus_files(), reason=f"the OpenAPI corpus is not at {CORPUS}"),
]

_LABELS = {"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE", "security", "servers"}
_EXPLICIT_CHECK_UP_TO = 1_000_000  # bytes


def has_ref(value: Any) -> bool:
    if isinstance(value, dict):
        return "$ref" in value or any(has_ref(v) for v in value.values())
    if isinstance(value, list):
        return any(has_ref(v) for v in value)
    return False


@pytest.mark.parametrize("name", corpus_files())
def test_corpus_document_imports(name: str) -> None:
    result = import_openapi(document(name), fetch=offline)
    actions = result.definition["actions"]
    assert result.operations == manifest_operations()[name]
    assert len(actions) == result.operations - len(result.skipped)
    assert len(set(result.skipped)) == len(result.skipped)
    spec = parse_definition(result.definition, source=name)  # runs check_schema on every input schema
    assert len(spec.actions) == len(actions)
    explicit = (CORPUS / name).stat().st_size <= _EXPLICIT_CHECK_UP_TO
    for code, action in spec.actions.items():
        if explicit:
            Draft202012Validator.check_schema(action.input_schema)
        assert not has_ref(action.input_schema), code
        for input_name, input_spec in action.inputs.items():
            assert set(input_spec.model_extra or {}) <= JSON_SCHEMA_KEYWORDS, (code, input_name)
    for line in result.skipped + result.warnings:
        assert line.split(":", 1)[0].split(" ", 1)[0] in _LABELS, line


def test_every_corpus_file_is_in_the_manifest() -> None:
    assert sorted(manifest_operations()) == corpus_files()
