"""Pagination where a document makes it plain: a `Link` header, or a next cursor paired with a cursor parameter.

The importer fills an action's `pagination` only then; anything less certain (an `offset`
parameter, a `page` number, a `next` field whose meaning is not clear) is left out, since a
wrong pagination would repeat or skip items.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from plughub.engine.json_pointer import escape_token
from plughub.engine.openapi.inputs import schema_types
from plughub.engine.openapi.refs import Resolver, join

__all__ = ["CURSOR_PARAMETERS", "detect_pagination", "response_headers"]

# Names of the parameter that takes a cursor, and of the answer's field that gives the next one.
CURSOR_PARAMETERS = frozenset(
    {
        "cursor",
        "after",
        "page_token",
        "pageToken",
        "next_token",
        "nextToken",
        "continuation",
        "continuation_token",
        "continuationToken",
        "start_cursor",
        "startCursor",
        "pagination_token",
        "page_cursor",
        "marker",
        "starting_after",
    }
)
_NEXT_FIELDS = frozenset(
    {
        "next_cursor",
        "nextCursor",
        "next_page_token",
        "nextPageToken",
        "next_token",
        "nextToken",
        "next_marker",
        "nextMarker",
        "continuation",
        "continuationToken",
    }
)
# A plain name that is the next cursor only under these parents: HubSpot's paging.next.after,
# Twitch's pagination.cursor.
_NEXT_UNDER = {"after": {"next"}, "cursor": {"pagination", "paging", "response_metadata", "meta"}}
_HAS_MORE = ("has_more", "hasMore")
_MAX_DEPTH = 3


def response_headers(op: Mapping[str, Any], pointer: str, resolver: Resolver) -> list[str]:
    """The headers the first 2xx response of an operation declares (OpenAPI 3 and Swagger 2.0 alike).

    Args:
        op: The operation object.
        pointer: Its JSON pointer.
        resolver: Follows `$ref`s.

    Returns:
        The header names as written.

    Raises:
        ExternalRef: A reference cannot be read.
        BrokenRef: A reference does not resolve.
    """
    responses = op.get("responses")
    if not isinstance(responses, Mapping):
        return []
    for code in sorted(str(c) for c in responses):
        if code.startswith("2"):
            original = next(k for k in responses if str(k) == code)
            response, _at = resolver.deref(responses[original], join(pointer, "responses", code))
            headers = response.get("headers") if isinstance(response, Mapping) else None
            return [str(name) for name in headers] if isinstance(headers, Mapping) else []
    return []


def detect_pagination(
    method: str, inputs: Mapping[str, Mapping[str, Any]], output: Any, headers: list[str]
) -> dict[str, Any] | None:
    """The `pagination` of an imported action, when the document makes it plain.

    Args:
        method: The action's method.
        inputs: Its inputs (the definition format's).
        output: Its converted response schema (deep enough to see a nested next cursor).
        headers: The headers its 2xx response declares.

    Returns:
        The pagination, or None.
    """
    items = _items(output)
    if method == "GET" and any(name.lower() == "link" for name in headers) and items is not None:
        return {"type": "link", "items": items}
    cursor_input = _cursor_input(inputs)
    if cursor_input is None or items is None or not _object(output):
        return None
    found = list(_next_cursors(output, (), 0))
    if len(found) == 1:
        return {"type": "cursor", "items": items, "cursor_input": cursor_input, "next_cursor": found[0]}
    has_more = next((f"/{n}" for n in _HAS_MORE if "boolean" in schema_types(_property(output, n))), None)
    wire = inputs[cursor_input].get("alias") or cursor_input
    # Stripe: `starting_after` is the id of the last item, and `has_more` says whether there is more.
    if not found and wire == "starting_after" and has_more and "id" in _properties(_item_schema(output, items)):
        return {
            "type": "cursor",
            "items": items,
            "cursor_input": cursor_input,
            "item_cursor": "/id",
            "has_more": has_more,
        }
    return None


def _cursor_input(inputs: Mapping[str, Mapping[str, Any]]) -> str | None:
    found = [
        name
        for name, spec in inputs.items()
        if (spec.get("alias") or name) in CURSOR_PARAMETERS and spec.get("in") in ("query", "body")
    ]
    return found[0] if len(found) == 1 else None


def _object(schema: Any) -> bool:
    return isinstance(schema, dict) and schema_types(schema) == {"object"}


def _properties(schema: Any) -> dict[str, Any]:
    properties = schema.get("properties") if isinstance(schema, dict) else None
    return properties if isinstance(properties, dict) else {}


def _property(schema: Any, name: str) -> Any:
    return _properties(schema).get(name)


def _items(output: Any) -> str | None:
    """Where the list is: the answer itself, or its only array member."""
    if not isinstance(output, dict):
        return None
    if schema_types(output) == {"array"}:
        return ""
    arrays = [name for name, value in _properties(output).items() if schema_types(value) == {"array"}]
    return f"/{escape_token(arrays[0])}" if len(arrays) == 1 else None


def _item_schema(output: Any, items: str) -> Any:
    listed = _property(output, items[1:]) if items else output
    return listed.get("items") if isinstance(listed, dict) else None


def _next_cursors(schema: Any, path: tuple[str, ...], depth: int) -> Iterator[str]:
    """Pointers to the string or integer members that name the next cursor."""
    if depth > _MAX_DEPTH:
        return
    for name, value in _properties(schema).items():
        here = (*path, name)
        if schema_types(value) & {"string", "integer"} and (
            name in _NEXT_FIELDS or (name in _NEXT_UNDER and path and path[-1] in _NEXT_UNDER[name])
        ):
            yield "/" + "/".join(escape_token(token) for token in here)
        elif _object(value):
            yield from _next_cursors(value, here, depth + 1)
