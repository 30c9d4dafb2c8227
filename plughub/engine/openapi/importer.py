"""`import_openapi`: an OpenAPI 3.0/3.1 or Swagger 2.0 document -> an integration definition."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from plughub.engine.catalog.models import ID_PATTERN
from plughub.engine.openapi.actions import ActionBuilder
from plughub.engine.openapi.model import Document, ImportResult, Operation
from plughub.engine.openapi.naming import slug
from plughub.engine.openapi.oas3 import read_oas3
from plughub.engine.openapi.paths import text, url_scheme
from plughub.engine.openapi.refs import Resolver
from plughub.engine.openapi.schema import SchemaConverter
from plughub.engine.openapi.security import build_auth
from plughub.engine.openapi.servers import OperationServers, build_base_url
from plughub.engine.openapi.source import load_source
from plughub.engine.openapi.swagger2 import read_swagger2
from plughub.exceptions import CatalogError

__all__ = ["import_openapi", "read_document"]

_DESCRIPTION_LIMIT = 300


def read_document(root: Any, resolver: Resolver | None = None) -> Document:
    """Check the version and read a parsed document into the neutral view.

    Args:
        root: The parsed document.
        resolver: Its resolver, which knows where the document was read (for references to the
            files beside it); references stay inside the document when omitted.

    Returns:
        The neutral view.

    Raises:
        CatalogError: The document is not a mapping, has no supported version, or is malformed;
            the message names the JSON pointer of the problem.
    """
    if not isinstance(root, Mapping):
        raise CatalogError(f"#: an OpenAPI document must be a mapping, not {type(root).__name__}")
    resolver = resolver or Resolver(root)
    openapi, swagger = root.get("openapi"), root.get("swagger")
    if isinstance(openapi, str) and re.match(r"^3\.[01](\.|$)", openapi):
        return read_oas3(root, resolver, openapi[:3])
    if swagger is not None and str(swagger) == "2.0":
        return read_swagger2(root, resolver)
    if openapi is not None:
        raise CatalogError(f"#/openapi: version {openapi!r} is not supported (3.0 and 3.1 are)")
    if swagger is not None:
        raise CatalogError(f"#/swagger: version {swagger!r} is not supported (2.0 is)")
    raise CatalogError("#: not an OpenAPI document (no `openapi` or `swagger` version)")


def import_openapi(
    source: str | Path | Mapping[str, Any],
    *,
    id: str | None = None,
    name: str | None = None,
    base_url: str | None = None,
    include: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    fetch: Callable[[str], bytes] | None = None,
) -> ImportResult:
    """Turn an OpenAPI 3.0/3.1 or Swagger 2.0 document into an integration definition.

    Args:
        source: A file path, an http(s) URL, or the parsed document.
        id: The integration id; a slug of `info.title` by default.
        name: The display name; `info.title` by default.
        base_url: The base URL, instead of the document's first server.
        include: Keep only operations with one of these tags or under one of these path prefixes
            (a value starting with `/` is a path prefix).
        exclude: Leave out operations with one of these tags or under one of these path prefixes.
        fetch: Reads an URL (the document, the files a document read from an URL refers to,
            OpenID Connect discovery); httpx by default. A document read from a file may refer
            to files beside it, which are read from its directory; no other URL is fetched.

    Returns:
        The definition (which passes `parse_definition`), warnings, skipped operations and the
        number of operations in the document.

    Raises:
        CatalogError: The source cannot be read, or the document is malformed (the message names
            the JSON pointer of the problem), or `id` is not a valid integration id.
    """
    root, location, reader = load_source(source, fetch)
    document_url = location if isinstance(location, str) else None
    resolver = Resolver(root, location, reader)
    doc = read_document(root, resolver)
    warnings: list[str] = list(doc.warnings)
    title = text(doc.info.get("title")) or "API"
    integration_id = id or slug(title)
    if not re.match(ID_PATTERN, integration_id):
        raise CatalogError(f"id: '{integration_id}' must match {ID_PATTERN}")
    base, config = build_base_url(doc, override=base_url, document_url=document_url, warnings=warnings)
    absolute = base if "${" not in base and url_scheme(base) in ("http", "https") else None
    auth = build_auth(
        doc,
        base_url=absolute,
        document_url=document_url,
        fetch=reader,
        reserved=set(config) | {"base_url"},
        warnings=warnings,
    )
    prefix = integration_id.upper().replace("-", "_") + "_"
    servers = OperationServers(doc, base, base_url, document_url)
    builder = ActionBuilder(SchemaConverter(resolver), prefix=prefix, auth=auth, servers=servers)
    for operation in doc.operations:
        reason = _filtered(operation, include, exclude)
        if reason:
            builder.skip(operation, reason)
        else:
            builder.add(operation)
    definition: dict[str, Any] = {"id": integration_id, "display_name": name or title}
    description = _first_paragraph(text(doc.info.get("description")))
    if description:
        definition["description"] = description
    if doc.external_docs:
        definition["docs"] = doc.external_docs
    definition["base_url"] = base
    if config:
        definition["connection_config"] = config
    definition["auth"] = auth.entries
    definition["actions"] = builder.actions
    return ImportResult(
        definition=definition,
        warnings=warnings + builder.warnings,
        skipped=builder.skipped,
        operations=len(doc.operations),
    )


def _first_paragraph(value: str) -> str:
    paragraph = " ".join(value.split("\n\n")[0].split())
    if len(paragraph) <= _DESCRIPTION_LIMIT:
        return paragraph
    return paragraph[: _DESCRIPTION_LIMIT - 3].rsplit(" ", 1)[0] + "..."


def _matches(operation: Operation, value: str) -> bool:
    if value.startswith("/"):
        prefix = value.rstrip("/")
        return operation.path == value or operation.path == prefix or operation.path.startswith(prefix + "/")
    return value.casefold() in {t.casefold() for t in operation.tags}


def _filtered(operation: Operation, include: Sequence[str] | None, exclude: Sequence[str] | None) -> str | None:
    if include and not any(_matches(operation, v) for v in include):
        return "left out: matches no include filter"
    if exclude and any(_matches(operation, v) for v in exclude):
        return "left out: matches an exclude filter"
    return None
