"""Parameters and request bodies -> action inputs (`in`, `required`, `alias`, JSON Schema)."""

from __future__ import annotations

from typing import Any

from plughub.engine.catalog.loader import JSON_SCHEMA_KEYWORDS
from plughub.engine.openapi.model import MediaBody, Parameter
from plughub.engine.openapi.naming import input_name, unique

__all__ = [
    "Skip",
    "body_encoding",
    "body_properties",
    "make_input",
    "not_empty",
    "parameter_problem",
    "place",
    "schema_types",
]

_JSON_MEDIA = ("application/json", "*/*", "application/*", "text/json")
_ENCODINGS = {"application/x-www-form-urlencoded": "form", "multipart/form-data": "multipart"}
_COMPOSITIONS = ("oneOf", "anyOf")


class Skip(Exception):
    """The operation cannot be imported; the message says why."""


def schema_types(schema: Any) -> set[str]:
    """The types a converted schema declares (empty when it does not say).

    Args:
        schema: A converted schema.

    Returns:
        Type names.
    """
    if not isinstance(schema, dict):
        return set()
    value = schema.get("type")
    types = {value} if isinstance(value, str) else set(value) if isinstance(value, list) else set()
    if not types and "properties" in schema:
        types = {"object"}
    return types - {"null"}


def not_empty(schema: Any, *, strings: bool, lists: bool) -> Any:
    """Refuse the empty values a request would lose or send malformed.

    An empty list in a query or a form sends no key at all (a required field goes missing), and
    an empty string sends `key=`, which a query parameter without `allowEmptyValue` does not take.

    Args:
        schema: A converted schema (not modified).
        strings: Add `minLength: 1` to a string schema.
        lists: Add `minItems: 1` to an array schema.

    Returns:
        The schema, with the bounds added where it had none of its own.
    """
    if not isinstance(schema, dict):
        return schema
    types = schema_types(schema)
    extra: dict[str, Any] = {}
    if strings and "string" in types and not {"minLength", "enum", "const"} & schema.keys():
        extra["minLength"] = 1
    if lists and "array" in types and "minItems" not in schema:
        extra["minItems"] = 1
    return {**schema, **extra} if extra else schema


def parameter_problem(param: Parameter, schema: Any) -> str | None:
    """Tell why a parameter cannot be sent the way the document wants, if it cannot.

    The request builder sends query arrays repeated or comma-joined, query objects as
    `key[field]=value` (deepObject), headers and path values as text.

    Args:
        param: The parameter.
        schema: Its converted schema.

    Returns:
        The reason, or None when it can be sent.
    """
    types = schema_types(schema)
    where = f"{param.location} parameter '{param.name}'"
    if param.json_content:
        return None
    if param.location == "query":
        if "object" in types and param.style != "deepObject":
            return f"{where} is an object serialized with style {param.style or 'form'} (only deepObject is supported)"
        if "array" in types and not param.explode and param.style not in (None, "form"):
            return f"{where} uses style {param.style} without explode (only comma-separated arrays are supported)"
        return None
    if param.style not in (None, "simple"):
        return f"{where} uses style {param.style} (only simple is supported)"
    if types & {"object", "array"}:
        return f"{where} is an {'object' if 'object' in types else 'array'} (only scalar values are supported)"
    return None


def body_encoding(bodies: list[MediaBody]) -> tuple[MediaBody, str] | None:
    """Pick the media type to send: JSON first, then form, then multipart.

    Args:
        bodies: The request body's media types.

    Returns:
        The chosen media type and its `body_encoding`, or None when none is supported.
    """
    for wanted in ("json", "form", "multipart"):
        for body in bodies:
            media = body.media_type.split(";")[0].strip().lower()
            kind = _ENCODINGS.get(media) or ("json" if media in _JSON_MEDIA or media.endswith("+json") else None)
            if kind == wanted:
                return body, kind
    return None


def body_properties(schema: Any, what: str = "the request body") -> tuple[dict[str, Any], list[str], str | None]:
    """Read a converted body schema as top-level keys.

    `allOf` parts are merged; `oneOf`/`anyOf` alternatives that are all objects are merged too
    (a key is required only when every alternative requires it).

    Args:
        schema: The converted body schema.
        what: How to name the body in messages.

    Returns:
        The properties, the required names and a note when alternatives were merged.

    Raises:
        Skip: The body is not an object (an array, a scalar, an alternative that is not an object).
    """
    if schema is True or schema == {}:
        return {}, [], None
    if not isinstance(schema, dict):
        raise Skip(f"{what} accepts nothing (schema false)")
    types = schema_types(schema)
    if types and "object" not in types:
        kind = " or ".join(sorted(types))
        raise Skip(
            f"{what} is a JSON {kind}, not an object; the definition format sends body inputs as top-level "
            "keys of an object"
        )
    properties: dict[str, Any] = dict(schema.get("properties") or {})
    required: list[str] = list(schema.get("required") or [])
    note: str | None = None
    for part in schema.get("allOf") or []:
        props, req, part_note = body_properties(part, what)
        properties.update({k: v for k, v in props.items() if k not in properties})
        required += req
        note = note or part_note
    for keyword in _COMPOSITIONS:
        alternatives = schema.get(keyword)
        if not alternatives:
            continue
        merged: list[tuple[dict[str, Any], list[str]]] = []
        for alternative in alternatives:
            try:
                props, req, _note = body_properties(alternative, what)
            except Skip:
                raise Skip(f"{what} is a {keyword} whose alternatives are not all objects") from None
            merged.append((props, req))
        for props, _req in merged:
            properties.update({k: v for k, v in props.items() if k not in properties})
        common = set.intersection(*(set(req) for _props, req in merged)) if merged else set()
        required += [name for name in merged[0][1] if name in common] if merged else []
        note = f"the {keyword} alternatives of {what} are merged into one set of inputs"
    return properties, list(dict.fromkeys(r for r in required if r in properties)), note


def place(wire: str, location: str, taken: dict[str, Any]) -> tuple[str, str | None]:
    """Name an input: the wire name when valid and free, else a snake-case or suffixed name.

    Args:
        wire: The name on the wire.
        location: `path`, `query`, `header` or `body`.
        taken: Inputs already named.

    Returns:
        The input name and the alias to record (None when the wire name is the input name or the
        input goes in the path, where the name on the wire does not matter).
    """
    name = input_name(wire)
    if name in taken:
        name = unique(f"{name}_{location}", taken)
    alias = wire if name != wire and location != "path" else None
    return name, alias


def make_input(
    schema: Any,
    *,
    location: str,
    required: bool,
    alias: str | None = None,
    description: str = "",
    deprecated: bool = False,
    explode: bool = True,
) -> dict[str, Any]:
    """Build an input: the converted schema plus plughub's `in`, `required`, `alias`, `explode`.

    An object schema's own `required` list moves into `allOf` (plughub's `required` is the
    input's flag), and only keywords the loader accepts stay at the top level.

    Args:
        schema: The converted schema.
        location: Where the input goes.
        required: Whether the action needs it.
        alias: The wire name, when it differs.
        description: The parameter's description (wins over the schema's).
        deprecated: Whether the parameter is deprecated.
        explode: False to join a query array with commas.

    Returns:
        The input mapping.
    """
    spec = {k: v for k, v in schema.items() if k in JSON_SCHEMA_KEYWORDS} if isinstance(schema, dict) else {}
    nested = schema.get("required") if isinstance(schema, dict) else None
    if nested:
        spec["allOf"] = [*spec.get("allOf", []), {"required": nested}]
    if description:
        spec["description"] = description
    if deprecated:
        spec["deprecated"] = True
    spec.pop("nullable", None)
    spec["in"] = location
    if required:
        spec["required"] = True
    if alias:
        spec["alias"] = alias
    if not explode and location == "query" and "array" in schema_types(schema):
        spec["explode"] = False
    return spec
