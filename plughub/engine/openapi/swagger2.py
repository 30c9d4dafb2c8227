"""Read a Swagger 2.0 document into the neutral view, the way OpenAPI 3 reads.

`host`, `basePath` and `schemes` make the server; a `body` parameter is a JSON request body;
`formData` parameters make a form (or multipart, per `consumes` and `type: file`) body;
`securityDefinitions` become OpenAPI 3 security schemes (`basic` -> `http/basic`, `accessCode` ->
`authorizationCode`, `application` -> `clientCredentials`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plughub.engine.openapi.model import Document, MediaBody, Operation, Parameter, Scheme, Server
from plughub.engine.openapi.oas3 import security_requirements
from plughub.engine.openapi.pagination import response_headers
from plughub.engine.openapi.paths import RawOperation, iter_operations, merged_parameters, text
from plughub.engine.openapi.refs import BrokenRef, ExternalRef, Resolver, join, unresolved
from plughub.exceptions import CatalogError

__all__ = ["read_swagger2"]

_FLOWS = {
    "accessCode": "authorizationCode",
    "application": "clientCredentials",
    "implicit": "implicit",
    "password": "password",
}
_FORM = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data"


def read_swagger2(root: Mapping[str, Any], resolver: Resolver) -> Document:
    """Read a Swagger 2.0 document.

    Args:
        root: The parsed document.
        resolver: Its resolver.

    Returns:
        The neutral view.

    Raises:
        CatalogError: The document is malformed; the message names the JSON pointer.
    """
    warnings: list[str] = []
    operations = [_operation(raw, root, resolver) for raw in iter_operations(root, resolver, warnings)]
    external = root.get("externalDocs")
    return Document(
        root=root,
        version="2.0",
        info=dict(info) if isinstance(info := root.get("info"), Mapping) else {},
        external_docs=text(external.get("url")) or None if isinstance(external, Mapping) else None,
        servers=_servers(root),
        schemes=_schemes(root),
        security=security_requirements(root.get("security"), "#/security"),
        operations=operations,
        tags=[text(t.get("name")) for t in _as_list(root.get("tags")) if isinstance(t, Mapping)],
        warnings=warnings,
    )


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _strings(value: Any) -> list[str]:
    return [str(v) for v in value if isinstance(v, (str, int))] if isinstance(value, list) else []


def _servers(root: Mapping[str, Any]) -> list[Server]:
    if root.get("host") is not None and not isinstance(root.get("host"), str):
        raise CatalogError("#/host: must be a string")
    host = text(root.get("host"))
    base_path = text(root.get("basePath")) or "/"
    if not base_path.startswith("/"):
        base_path = "/" + base_path
    if not host:
        return [Server(base_path)] if base_path != "/" else []
    schemes = _strings(root.get("schemes"))
    scheme = "https" if "https" in schemes or not schemes else schemes[0]
    return [Server(f"{scheme}://{host}{base_path.rstrip('/')}")]


def _schemes(root: Mapping[str, Any]) -> list[Scheme]:
    definitions = root.get("securityDefinitions") or {}
    if not isinstance(definitions, Mapping):
        raise CatalogError("#/securityDefinitions: must be a mapping")
    schemes: list[Scheme] = []
    for name, raw in definitions.items():
        if not isinstance(raw, Mapping):
            raise CatalogError(f"{join('#/securityDefinitions', str(name))}: a security scheme must be a mapping")
        kind = text(raw.get("type"))
        if kind == "basic":
            converted: dict[str, Any] = {"type": "http", "scheme": "basic"}
        elif kind == "oauth2":
            flow = _FLOWS.get(text(raw.get("flow")), text(raw.get("flow")))
            details = {k: raw[k] for k in ("authorizationUrl", "tokenUrl", "scopes") if k in raw}
            converted = {"type": "oauth2", "flows": {flow: details}}
        else:
            converted = {k: v for k, v in raw.items() if k in ("type", "name", "in") or str(k).startswith("x-")}
        if raw.get("description"):
            converted["description"] = raw["description"]
        schemes.append(Scheme(str(name), "http" if kind == "basic" else kind, converted))
    return schemes


def _operation(raw: RawOperation, root: Mapping[str, Any], resolver: Resolver) -> Operation:
    op = raw.operation
    operation = Operation(
        method=raw.method.upper(),
        path=raw.path,
        pointer=raw.pointer,
        operation_id=text(op.get("operationId")) or None,
        summary=text(op.get("summary")),
        description=text(op.get("description")),
        tags=[str(t) for t in _strings(op.get("tags"))],
        deprecated=op.get("deprecated") is True,
        security=security_requirements(op.get("security"), join(raw.pointer, "security")),
    )
    if raw.problem:
        operation.problems.append(raw.problem)
        return operation
    consumes = [c.lower() for c in _strings(op.get("consumes") or root.get("consumes"))]
    produces = [c.lower() for c in _strings(op.get("produces") or root.get("produces"))]
    form: dict[str, Any] = {}
    form_required: list[str] = []
    has_file = False
    try:
        for param, pointer in merged_parameters(raw, resolver):
            location = param["in"]
            if location == "body":
                media = next((c for c in consumes if "json" in c), "application/json")
                operation.bodies.append(MediaBody(media, param.get("schema"), join(pointer, "schema")))
                operation.body_required = param.get("required") is True
            elif location == "formData":
                # Swagger 2.0 refuses an empty form value unless `allowEmptyValue` says otherwise.
                empty_refused = param.get("type") == "string" and param.get("allowEmptyValue") is not True
                form[param["name"]] = {"minLength": 1, **param} if empty_refused and "enum" not in param else param
                has_file = has_file or param.get("type") == "file"
                if param.get("required") is True:
                    form_required.append(param["name"])
            else:
                operation.parameters.append(_parameter(param, pointer))
        if form:
            multipart = _MULTIPART in consumes and (has_file or _FORM not in consumes)
            schema = {"type": "object", "properties": form, "required": form_required}
            operation.bodies.append(
                MediaBody(_MULTIPART if multipart else _FORM, schema, join(raw.pointer, "parameters"))
            )
            operation.body_required = bool(form_required)
    except (ExternalRef, BrokenRef) as exc:
        operation.problems.append(unresolved(exc))
    try:
        if not produces or any("json" in p for p in produces):
            operation.output = _output(op, raw.pointer, resolver)
        operation.response_headers = response_headers(op, raw.pointer, resolver)
    except (ExternalRef, BrokenRef) as exc:
        operation.notes.append(f"the response schema is left out: {unresolved(exc)}")
    return operation


def _parameter(param: Mapping[str, Any], pointer: str) -> Parameter:
    fmt = text(param.get("collectionFormat")) or "csv"
    style = {"csv": "form", "multi": "form", "ssv": "spaceDelimited", "pipes": "pipeDelimited"}.get(fmt, fmt)
    schema = {k: v for k, v in param.items() if k not in ("name", "in", "required", "description")}
    return Parameter(
        name=param["name"],
        location=param["in"],
        schema=schema,
        pointer=pointer,
        required=param.get("required") is True or param["in"] == "path",
        description=text(param.get("description")),
        explode=fmt == "multi",
        style=style if param.get("type") == "array" else None,
        allow_empty=param.get("allowEmptyValue") is True,
    )


def _output(op: Mapping[str, Any], pointer: str, resolver: Resolver) -> tuple[Any, str] | None:
    responses = op.get("responses")
    if not isinstance(responses, Mapping):
        return None
    for code in sorted(str(c) for c in responses):
        if not code.startswith("2"):
            continue
        original = next(k for k in responses if str(k) == code)
        response, at = resolver.deref(responses[original], join(pointer, "responses", code))
        if isinstance(response, Mapping) and response.get("schema") is not None:
            return response["schema"], join(at, "schema")
    return None
