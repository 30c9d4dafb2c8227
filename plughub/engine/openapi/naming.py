"""Names: integration ids, action codes, input names and template variables."""

from __future__ import annotations

import re
from collections.abc import Container

from plughub.engine.catalog.models import INPUT_NAME

__all__ = ["input_name", "slug", "unique", "upper_snake"]

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]+")


def slug(title: str, *, max_length: int = 48) -> str:
    """Make an integration id from a title: `Swagger Petstore` -> `swagger-petstore`.

    Args:
        title: Any text.
        max_length: Longest id to return (cut at a dash where possible).

    Returns:
        A string matching `^[a-z0-9][a-z0-9-]*$`; `api` when the title has no letters or digits.
    """
    words = _NOT_ALNUM.sub(" ", _CAMEL.sub(" ", title)).lower().split()
    value = "-".join(words) or "api"
    if len(value) > max_length:
        value = value[:max_length].rsplit("-", 1)[0] if "-" in value[:max_length] else value[:max_length]
    return value.strip("-") or "api"


def upper_snake(text: str) -> str:
    """Convert to upper snake case: `listPets` -> `LIST_PETS`, `get /pets/{id}` -> `GET_PETS_ID`.

    Args:
        text: An operationId, a path, any text.

    Returns:
        Upper case letters, digits and single underscores, no leading or trailing underscore.
    """
    return "_".join(_NOT_ALNUM.sub(" ", _CAMEL.sub(" ", text)).split()).upper()


def input_name(wire: str) -> str:
    """Make an input name from a wire name: kept when valid, else snake case (`X-Request-Id` -> `x_request_id`).

    Args:
        wire: The parameter or property name.

    Returns:
        A name matching `^[A-Za-z][A-Za-z0-9_]*$`.
    """
    if INPUT_NAME.match(wire):
        return wire
    value = "_".join(_NOT_ALNUM.sub(" ", wire).split()).lower()
    if not value:
        return "param"
    return value if value[0].isalpha() else f"n{value}"


def unique(name: str, taken: Container[str], *, first_suffix: int = 2) -> str:
    """Return `name`, or `name_2`, `name_3`, ... whichever is not taken yet.

    Args:
        name: The wanted name.
        taken: Names already used.
        first_suffix: The first number to try.

    Returns:
        A name not in `taken`.
    """
    if name not in taken:
        return name
    number = first_suffix
    while f"{name}_{number}" in taken:
        number += 1
    return f"{name}_{number}"
