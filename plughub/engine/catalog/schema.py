"""The JSON Schema of definition files, exported for editors (`plughub integrations schema`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from plughub.engine.catalog.models import IntegrationSpec

__all__ = ["SCHEMA_FILE", "definition_schema"]

SCHEMA_FILE = Path(__file__).with_name("definition.schema.json")


def definition_schema() -> dict[str, Any]:
    """Build the JSON Schema of a definition file from the pydantic models.

    Returns:
        A JSON Schema (draft 2020-12) document.
    """
    schema = IntegrationSpec.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://plughub.dev/schemas/definition.schema.json"
    schema["title"] = "plughub integration definition"
    return schema
