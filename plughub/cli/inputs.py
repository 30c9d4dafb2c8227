"""Parse `--input key=value` options into typed values."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import click

__all__ = ["parse_inputs"]


def parse_inputs(pairs: Iterable[str], schemas: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Turn `key=value` strings into a dict, converting each value by its JSON Schema type.

    A string input keeps the text as given; other types are read as JSON (`count=3`,
    `draft=true`, `labels=["bug","ui"]`).

    Args:
        pairs: The `--input` values.
        schemas: JSON Schemas by input name (unknown names are kept as text, for the engine to
            refuse with the list of accepted ones).

    Returns:
        The inputs.

    Raises:
        click.BadParameter: A pair has no `=`, or a value is not valid JSON for its type.
    """
    result: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"'{pair}' is not key=value", param_hint="--input")
        kind = schemas.get(key, {}).get("type", "string")
        if kind == "string" or key not in schemas:
            result[key] = raw
            continue
        try:
            result[key] = json.loads(raw)
        except ValueError:
            article = "an" if kind[0] in "aeiou" else "a"
            raise click.BadParameter(
                f"{key} takes {article} {kind}; '{raw}' is not valid JSON", param_hint="--input"
            ) from None
    return result
