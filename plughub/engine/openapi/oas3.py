"""Read an OpenAPI 3.0 or 3.1 document into the importer's neutral view."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plughub.engine.openapi.model import Document, MediaBody, Operation, Parameter, Scheme, Server
from plughub.engine.openapi.pagination import response_headers
from plughub.engine.openapi.paths import RawOperation, iter_operations, merged_parameters, text
from plughub.engine.openapi.refs import BrokenRef, ExternalRef, Resolver, join, unresolved
from plughub.exceptions import CatalogError

__all__ = ["read_oas3", "security_requirements"]


def read_oas3(root: Mapping[str, Any], resolver: Resolver, version: str) -> Document:
    """Read an OpenAPI 3.x document.

    Args:
        root: The parsed document.
        resolver: Its resolver.
        version: `3.0` or `3.1`.

    Returns:
        The neutral view.

    Raises:
        CatalogError: The document is malformed; the message names the JSON pointer.
    """
    servers = [_server(s, join("#/servers", i)) for i, s in enumerate(_list(root.get("servers"), "#/servers"))]
    components = root.get("components") or {}
    if not isinstance(components, Mapping):
        raise CatalogError(f"#/components: must be a mapping, not {type(components).__name__}")
    schemes: list[Scheme] = []
    raw_schemes = components.get("securitySchemes") or {}
    if not isinstance(raw_schemes, Mapping):
        raise CatalogError("#/components/securitySchemes: must be a mapping")
    for name, scheme in raw_schemes.items():
        pointer = join("#/components/securitySchemes", str(name))
        try:
            scheme, _at = resolver.deref(scheme, pointer)
        except ExternalRef as exc:
            raise CatalogError(f"{pointer}: {exc}") from None
        if not isinstance(scheme, Mapping):
            raise CatalogError(f"{pointer}: a security scheme must be a mapping")
        schemes.append(Scheme(str(name), text(scheme.get("type")), dict(scheme)))
    warnings: list[str] = []
    operations = [_operation(raw, resolver) for raw in iter_operations(root, resolver, warnings)]
    external = root.get("externalDocs")
    return Document(
        root=root,
        version=version,
        info=dict(info) if isinstance(info := root.get("info"), Mapping) else {},
        external_docs=text(external.get("url")) or None if isinstance(external, Mapping) else None,
        servers=servers,
        schemes=schemes,
        security=security_requirements(root.get("security"), "#/security"),
        operations=operations,
        tags=[text(t.get("name")) for t in _list(root.get("tags"), "#/tags") if isinstance(t, Mapping)],
        warnings=warnings,
    )


def security_requirements(value: Any, pointer: str) -> list[dict[str, Any]] | None:
    """Check a `security` list.

    Args:
        value: The value of a `security` key.
        pointer: Its pointer.

    Returns:
        The requirements, or None when the key is absent.

    Raises:
        CatalogError: It is not a list of mappings.
    """
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(r, Mapping) for r in value):
        raise CatalogError(f"{pointer}: must be a list of security requirement mappings")
    return [dict(r) for r in value]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _list(value: Any, pointer: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise CatalogError(f"{pointer}: must be a list, not {type(value).__name__}")
    return value


def _server(value: Any, pointer: str) -> Server:
    if not isinstance(value, Mapping) or not isinstance(value.get("url"), str):
        raise CatalogError(f"{pointer}: a server must be a mapping with a string `url`")
    variables = value.get("variables") or {}
    if not isinstance(variables, Mapping):
        raise CatalogError(f"{pointer}/variables: must be a mapping")
    return Server(value["url"], {str(k): v for k, v in variables.items()}, text(value.get("description")))


def _operation(raw: RawOperation, resolver: Resolver) -> Operation:
    op = raw.operation
    tags = [str(t) for t in _as_list(op.get("tags")) if isinstance(t, (str, int))]
    operation = Operation(
        method=raw.method.upper(),
        path=raw.path,
        pointer=raw.pointer,
        operation_id=text(op.get("operationId")) or None,
        summary=text(op.get("summary")),
        description=text(op.get("description")),
        tags=tags,
        deprecated=op.get("deprecated") is True,
        security=security_requirements(op.get("security"), join(raw.pointer, "security")),
    )
    for owner, pointer in ((op, raw.pointer), (raw.item, raw.item_pointer)):
        if owner.get("servers"):
            at = join(pointer, "servers")
            operation.servers = [_server(s, join(at, i)) for i, s in enumerate(_list(owner["servers"], at))]
            break
    if raw.problem:
        operation.problems.append(raw.problem)
        return operation
    try:
        for param, pointer in merged_parameters(raw, resolver):
            operation.parameters.append(_parameter(param, pointer))
        _request_body(operation, op, resolver)
    except (ExternalRef, BrokenRef) as exc:
        operation.problems.append(unresolved(exc))
    try:
        operation.output = _output(op, raw.pointer, resolver)
        operation.response_headers = response_headers(op, raw.pointer, resolver)
    except (ExternalRef, BrokenRef) as exc:
        operation.notes.append(f"the response schema is left out: {unresolved(exc)}")
    return operation


def _parameter(param: Mapping[str, Any], pointer: str) -> Parameter:
    schema: Any = param.get("schema")
    schema_pointer = join(pointer, "schema")
    json_content = False
    content = param.get("content")
    if schema is None and isinstance(content, Mapping) and content:
        media, media_object = next(iter(content.items()))
        schema = media_object.get("schema") if isinstance(media_object, Mapping) else None
        schema_pointer = join(pointer, "content", str(media), "schema")
        json_content = "json" in str(media)
    style = param.get("style") if isinstance(param.get("style"), str) else None
    explode = param.get("explode")
    return Parameter(
        name=param["name"],
        location=param["in"],
        schema=schema,
        pointer=schema_pointer,
        required=param.get("required") is True or param["in"] == "path",
        description=text(param.get("description")),
        deprecated=param.get("deprecated") is True,
        explode=explode if isinstance(explode, bool) else style in (None, "form"),
        json_content=json_content,
        style=style,
        allow_empty=param.get("allowEmptyValue") is True,
    )


def _request_body(operation: Operation, op: Mapping[str, Any], resolver: Resolver) -> None:
    if op.get("requestBody") is None:
        return
    body, pointer = resolver.deref(op["requestBody"], join(operation.pointer, "requestBody"))
    if not isinstance(body, Mapping):
        raise CatalogError(f"{pointer}: a request body must be a mapping")
    operation.body_required = body.get("required") is True
    content = body.get("content") or {}
    if not isinstance(content, Mapping):
        raise CatalogError(f"{join(pointer, 'content')}: must be a mapping of media types")
    for media, media_object in content.items():
        at = join(pointer, "content", str(media))
        schema = media_object.get("schema") if isinstance(media_object, Mapping) else None
        operation.bodies.append(MediaBody(str(media), schema, join(at, "schema")))


def _output(op: Mapping[str, Any], pointer: str, resolver: Resolver) -> tuple[Any, str] | None:
    responses = op.get("responses")
    if not isinstance(responses, Mapping):
        return None
    for code in sorted((str(c) for c in responses), key=lambda c: c.upper()):
        if not code.startswith("2"):
            continue
        original = next(k for k in responses if str(k) == code)
        response, at = resolver.deref(responses[original], join(pointer, "responses", code))
        content = response.get("content") if isinstance(response, Mapping) else None
        if not isinstance(content, Mapping):
            continue
        for media, media_object in content.items():
            media_type = str(media).split(";")[0].strip().lower()
            is_json = media_type == "application/json" or media_type.endswith("+json")
            if is_json and isinstance(media_object, Mapping) and media_object.get("schema") is not None:
                return media_object["schema"], join(at, "content", str(media), "schema")
    return None
