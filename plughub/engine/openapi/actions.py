"""Operations -> actions: codes, descriptions, inputs, body encoding and output."""

from __future__ import annotations

import re
from typing import Any

from plughub.engine.openapi.inputs import (
    Skip,
    body_encoding,
    body_properties,
    make_input,
    not_empty,
    parameter_problem,
    place,
    schema_types,
)
from plughub.engine.openapi.model import Operation
from plughub.engine.openapi.naming import unique, upper_snake
from plughub.engine.openapi.pagination import CURSOR_PARAMETERS, detect_pagination
from plughub.engine.openapi.refs import BrokenRef, unresolved
from plughub.engine.openapi.schema import SchemaConverter
from plughub.engine.openapi.security import AuthResult
from plughub.engine.openapi.servers import OperationServers
from plughub.text import shorten

__all__ = ["ActionBuilder"]

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
_DROPPED_HEADERS = ("accept", "content-type", "authorization")
_PATH_VARIABLE = re.compile(r"\{([^{}]+)\}")
# Models read descriptions as tools: OpenAI accepts 1024 characters, and long ones are cut at a sentence.
_DESCRIPTION_LIMIT = 1024
# The output schema is informative: kept shallow so that large APIs make reasonable definitions.
OUTPUT_DEPTH = 2
OUTPUT_NODES = 300
_PUBLIC = (
    "Public: the document says this operation needs no credentials (the definition format has no per-action "
    "auth, so the connection's credentials are sent anyway)."
)


_ROOT_DESCRIPTION = "The whole request body."
# Media types sent as `application/json` (the request builder's own Content-Type) need no header.
_PLAIN_JSON = ("application/json", "*/*", "application/*", "text/json")


def _content_type(media_type: str) -> str | None:
    """The Content-Type an action must name for a JSON media type other than plain JSON (merge-patch+json)."""
    bare = media_type.split(";")[0].strip().lower()
    return None if bare in _PLAIN_JSON else media_type.strip()


def _cursor_like(name: str, spec: dict[str, Any]) -> bool:
    return (spec.get("alias") or name) in CURSOR_PARAMETERS


def _empty_object(schema: Any) -> bool:
    """Whether a body schema says "an object with no members" (Stripe's GET bodies)."""
    if not isinstance(schema, dict) or any(k in schema for k in ("allOf", "anyOf", "oneOf")):
        return False
    return schema.get("properties") == {} or schema.get("additionalProperties") is False


class ActionBuilder:
    """Builds the actions of one definition, collecting warnings and skipped operations.

    Args:
        converter: The document's schema converter.
        prefix: The action code prefix (`PETSTORE_`).
        auth: The imported auth, for per-operation security notes and credential parameters.
        servers: Resolves an operation's own servers into an action `base_url`.
    """

    def __init__(
        self, converter: SchemaConverter, *, prefix: str, auth: AuthResult, servers: OperationServers | None = None
    ) -> None:
        self.converter = converter
        self.servers = servers
        self.prefix = prefix
        self.auth = auth
        self.actions: dict[str, dict[str, Any]] = {}
        self.warnings: list[str] = []
        self.skipped: list[str] = []

    def skip(self, operation: Operation, reason: str) -> None:
        """Record an operation that is not imported.

        Args:
            operation: The operation.
            reason: Why.
        """
        self.skipped.append(f"{operation.label}: {reason}")

    def add(self, operation: Operation) -> None:
        """Import one operation, or record why it is skipped.

        Args:
            operation: The operation.

        Raises:
            CatalogError: A `$ref` of the operation does not resolve.
        """
        notes: list[str] = []
        try:
            action = self._action(operation, notes)
        except Skip as exc:
            self.skip(operation, str(exc))
            self.warnings.append(f"{operation.label}: skipped: {exc}")
            return
        finally:
            self.warnings.extend(f"{operation.label}: {note}" for note in dict.fromkeys(notes))
        code = self._code(operation)
        if code in self.actions:
            code = unique(code, self.actions)
            self.warnings.append(f"{operation.label}: action code made unique as {code}")
        self.actions[code] = action

    def _code(self, operation: Operation) -> str:
        base = upper_snake(operation.operation_id or f"{operation.method} {operation.path}")
        if not base:
            base = operation.method
        return base if base.startswith(self.prefix) else self.prefix + base

    def _action(self, operation: Operation, notes: list[str]) -> dict[str, Any]:
        if operation.problems:
            raise Skip(operation.problems[0])
        if operation.method not in METHODS:
            raise Skip(f"method {operation.method} is not supported by the definition format")
        notes.extend(operation.notes)
        inputs: dict[str, dict[str, Any]] = {}
        try:
            path = self._parameters(operation, inputs, notes)
            encoding, content_type = self._body(operation, inputs, notes)
        except BrokenRef as exc:
            raise Skip(unresolved(exc)) from None
        action: dict[str, Any] = {
            "display_name": shorten((operation.summary or "").split("\n")[0], 120) or self._code(operation),
            "description": self._description(operation),
            "method": operation.method,
            "path": path,
        }
        own_base_url = self.servers.base_url_for(operation.servers, notes) if self.servers else None
        if own_base_url:
            action["base_url"] = own_base_url
        if inputs:
            action["inputs"] = inputs
        if encoding and encoding != "json":
            action["body_encoding"] = encoding
        if content_type:
            action["headers"] = {"Content-Type": content_type}
        if operation.output is not None:
            try:
                output = self.converter.convert(
                    operation.output[0], operation.output[1], [], max_depth=OUTPUT_DEPTH, max_nodes=OUTPUT_NODES
                )
            except BrokenRef as exc:  # the output only documents the answer: the action still works
                notes.append(f"the response schema is left out: {unresolved(exc)}")
                output = {}
            if isinstance(output, dict) and output:
                action["output"] = output
        pagination = self._pagination(operation, inputs)
        if pagination is not None:
            action["pagination"] = pagination
        return action

    def _pagination(self, operation: Operation, inputs: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
        """Pagination where the document makes it plain (see `plughub.engine.openapi.pagination`)."""
        linked = any(name.lower() == "link" for name in operation.response_headers)
        if operation.output is None or not (linked or any(_cursor_like(n, s) for n, s in inputs.items())):
            return None
        try:  # deeper than the kept output: HubSpot's next cursor is at /paging/next/after
            output = self.converter.convert(operation.output[0], operation.output[1], [], max_depth=5, max_nodes=600)
        except BrokenRef:
            return None
        return detect_pagination(operation.method, inputs, output, operation.response_headers)

    def _parameters(self, operation: Operation, inputs: dict[str, dict[str, Any]], notes: list[str]) -> str:
        path = operation.path.replace("${", "{")  # a stray `$` before a path variable (Trello)
        in_template = list(dict.fromkeys(_PATH_VARIABLE.findall(path)))
        names: dict[str, str] = {}
        for param in operation.parameters:
            wire, location = param.name, param.location
            if location == "header" and wire.lower() in _DROPPED_HEADERS:
                continue
            if (location, wire.lower()) in self.auth.credential_params:
                continue
            problem = None
            if location not in ("path", "query", "header"):
                problem = f"{location} parameter '{wire}' cannot be sent (inputs go in the path, query, header or body)"
            elif location == "path" and wire not in in_template:
                notes.append(f"path parameter '{wire}' is not in the path template; left out")
                continue
            schema = self.converter.convert(param.schema, param.pointer, notes, request=True)
            if param.json_content:
                schema = {"type": "string", "contentMediaType": "application/json"}
            if location == "query":
                # An empty list sends nothing, and an empty string `key=`, which the document refuses.
                schema = not_empty(schema, strings=not param.allow_empty, lists=param.required)
            problem = problem or parameter_problem(param, schema)
            if problem:
                if param.required:
                    raise Skip(f"required {problem}")
                notes.append(f"{problem}; left out")
                continue
            name, alias = place(wire, location, inputs)
            if location == "path":
                names[wire] = name
            inputs[name] = make_input(
                schema,
                location=location,
                required=param.required,
                alias=alias,
                description=param.description,
                deprecated=param.deprecated,
                explode=param.explode,
            )
        for wire in in_template:
            if wire not in names:
                name, _alias = place(wire, "path", inputs)
                names[wire] = name
                inputs[name] = {"type": "string", "in": "path", "required": True}
                notes.append(f"path variable '{wire}' is not declared as a parameter; added as a string input")
        return _PATH_VARIABLE.sub(lambda m: f"${{inputs.{names[m.group(1)]}}}", path)

    def _body(
        self, operation: Operation, inputs: dict[str, dict[str, Any]], notes: list[str]
    ) -> tuple[str | None, str | None]:
        """Add the body's inputs; return the body encoding and the media type to name in Content-Type."""
        if not operation.bodies:
            return None, None
        media = ", ".join(b.media_type for b in operation.bodies)

        def unsupported(reason: str) -> tuple[None, None]:
            if operation.body_required:
                raise Skip(reason)
            notes.append(f"{reason}; the optional body is left out")
            return None, None

        chosen = body_encoding(operation.bodies)
        if chosen is None:
            raise Skip(f"request body media type {media} is not supported (only JSON, form and multipart)")
        body, encoding = chosen
        content_type = _content_type(body.media_type) if encoding == "json" else None
        schema = self.converter.convert(body.schema, body.pointer, notes, request=True)
        try:
            properties, required, note = body_properties(schema)
        except Skip as exc:
            # An array, a string, or alternatives that are not all objects: one input is the whole body.
            return self._root(operation, inputs, schema, encoding, str(exc), unsupported), content_type
        if not properties:
            if not operation.body_required and _empty_object(schema):
                return None, None  # nothing could be sent anyway
            reason = "the request body declares no properties (a free-form object)"
            return self._root(operation, inputs, schema, encoding, reason, unsupported), content_type
        if operation.method in ("GET", "HEAD"):
            return unsupported(f"a {operation.method} request with a body cannot be sent")
        if note:
            notes.append(note)
        for wire, prop in properties.items():
            name, alias = place(wire, "body", inputs)
            if encoding == "form" and wire in required:
                prop = not_empty(prop, strings=False, lists=True)  # an empty list is no field at all in a form
            inputs[name] = make_input(prop, location="body", required=wire in required, alias=alias)
        return encoding, content_type

    def _root(
        self,
        operation: Operation,
        inputs: dict[str, dict[str, Any]],
        schema: Any,
        encoding: str,
        reason: str,
        unsupported: Any,
    ) -> str | None:
        """The whole body as one input (`root: true`), where the format can send it."""
        if operation.method in ("GET", "HEAD"):
            unsupported(f"a {operation.method} request with a body cannot be sent")
            return None
        types = schema_types(schema)
        if encoding == "multipart" or (encoding == "form" and types != {"object"}):
            unsupported(f"{reason}, and a {encoding} body is sent as named fields")
            return None
        name, _alias = place("body", "body", inputs)
        spec = make_input(
            schema if isinstance(schema, dict) else {},
            location="body",
            required=operation.body_required,
            description="" if isinstance(schema, dict) and schema.get("description") else _ROOT_DESCRIPTION,
        )
        inputs[name] = {**spec, "root": True}
        return encoding

    def _description(self, operation: Operation) -> str:
        summary, description = operation.summary, operation.description
        text = description if not summary or description.startswith(summary) else f"{summary}\n\n{description}".strip()
        text = shorten(text or summary, _DESCRIPTION_LIMIT)
        extra: list[str] = []
        if operation.deprecated:
            extra.append("Deprecated.")
        security = operation.security
        if security is not None and (not security or any(not r for r in security)):
            extra.append(_PUBLIC)
        elif security:
            modes = {self.auth.modes[n] for r in security for n in r if n in self.auth.modes}
            every = {e["mode"] for e in self.auth.entries} - {"NO_AUTH"}
            if not modes:
                wanted = ", ".join(sorted({n for r in security for n in r}))
                extra.append(f"Authentication: needs {wanted}, which the definition does not support.")
            elif modes != every:
                extra.append(f"Authentication: {', '.join(sorted(modes))} only.")
        return "\n\n".join([p for p in (text, *extra) if p])
