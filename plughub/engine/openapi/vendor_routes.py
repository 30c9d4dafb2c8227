"""The operations of vendors' OpenAPI documents, indexed by path, and how an action's path finds its operation."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from plughub.engine.catalog.models import ActionSpec, IntegrationSpec
from plughub.engine.openapi.model import Document, Operation, Server
from plughub.engine.openapi.refs import Resolver
from plughub.engine.openapi.schema import SchemaConverter

__all__ = ["Route", "RouteIndex", "RouteMatch", "VendorDocument", "definition_path"]

_VARIABLE = re.compile(r"\$\{[^{}]*\}|\{[^{}]*\}")
_SERVER_VARIABLE = re.compile(r"\{([^{}]+)\}")
_MARK = "\x00"
# Only the top level of a body matters here: inputs are its top-level keys.
_BODY_DEPTH = 3


@dataclass
class VendorDocument:
    """A vendor's document, read by the importer.

    Attributes:
        name: How reports name it (its file name).
        document: The neutral view.
        resolver: Its resolver (for body schemas).
    """

    name: str
    document: Document
    resolver: Resolver
    converter: SchemaConverter = field(init=False)

    def __post_init__(self) -> None:
        self.converter = SchemaConverter(self.resolver, max_depth=_BODY_DEPTH)


@dataclass
class Route:
    """An operation under one of its full paths, split into segments."""

    segments: list[str]
    operation: Operation
    vendor: VendorDocument


@dataclass
class RouteMatch:
    """An operation that a path fits, and how well."""

    route: Route
    score: int  # literal segments equal on both sides: `/users/me` wins over `/users/{id}`


def _segments(path: str) -> list[str]:
    return [s for s in path.strip("/").split("/")] if path.strip("/") else []


def _shape(segment: str) -> str:
    return _VARIABLE.sub(_MARK, segment)


def _segment_regex(segment: str) -> re.Pattern[str]:
    parts = _VARIABLE.split(segment)
    return re.compile("[^/]+".join(re.escape(p) for p in parts))


def _server_paths(servers: list[Server]) -> list[str]:
    """The path part of each server URL (variables with defaults filled, the others left as `{x}`)."""
    paths: list[str] = []
    for server in servers or [Server("/")]:

        def value(match: re.Match[str], server: Server = server) -> str:
            variable = server.variables.get(match.group(1))
            default = variable.get("default") if isinstance(variable, Mapping) else None
            return str(default) if default not in (None, "") else match.group(0)

        url = _SERVER_VARIABLE.sub(value, server.url.strip())
        path = url if url.startswith("/") else urlsplit(url).path if "://" in url else ""
        if path.startswith("{") and "/" not in path:
            path = ""  # the whole URL is a variable (`{siteUrl}`)
        paths.append(path.rstrip("/"))
    return list(dict.fromkeys(paths))


def definition_path(spec: IntegrationSpec, action: ActionSpec) -> tuple[str, int | None]:
    """The full path an action requests, and how many segments its base URL's path has (None: unknown)."""
    base = action.base_url or spec.base_url
    if "://" not in base:
        return action.path, None  # the base URL is a template as a whole
    base_path = urlsplit(base).path
    path = base_path.rstrip("/") + action.path if action.path.startswith("/") else base_path + action.path
    return path, len(_segments(base_path))


class RouteIndex:
    """Every operation of the documents, by the segments of its full path."""

    def __init__(self, vendors: Sequence[VendorDocument]) -> None:
        self.routes: list[Route] = []
        self.bare: list[Route] = []  # the operation's own path, for a definition whose base path is unknown
        for vendor in vendors:
            document_paths = _server_paths(vendor.document.servers)
            for operation in vendor.document.operations:
                bases = _server_paths(operation.servers) if operation.servers else document_paths
                for base in bases:
                    self.routes.append(Route(_segments(base + operation.path), operation, vendor))
                self.bare.append(Route(_segments(operation.path), operation, vendor))

    def match(self, method: str, path: str, base_segments: int | None) -> tuple[RouteMatch | None, list[str]]:
        """The best operation for a request, or None and the methods the path has.

        The base URL's path may start with segments the document's server leaves out: Adyen's
        live URLs add `/checkout` before the `/v71` of its test server.
        """
        wanted = _segments(path)
        found: list[RouteMatch] = []
        for skip in range((base_segments or 0) + 1):
            if skip and _VARIABLE.search(wanted[skip - 1]):
                break
            for route in self.routes if base_segments is not None else self.bare:
                matched = _match_segments(wanted[skip:], route)
                if matched is not None:
                    found.append(matched)
            if found:
                break
        with_method = [m for m in found if m.route.operation.method == method]
        if with_method:
            return max(with_method, key=lambda m: m.score), []
        return None, sorted({m.route.operation.method for m in found})


def _match_segments(wanted: list[str], route: Route) -> RouteMatch | None:
    if len(wanted) != len(route.segments):
        return None
    score = 0
    for ours, theirs in zip(wanted, route.segments, strict=True):
        templated, parameter = bool(_VARIABLE.search(ours)), bool(_VARIABLE.search(theirs))
        if not parameter:
            if templated or ours != theirs:
                return None
            score += 1
        elif not templated:
            if not _segment_regex(theirs).fullmatch(ours):  # a literal filling a parameter: `me` for `{user}`
                return None
        elif _shape(ours) != _shape(theirs):
            return None
    return RouteMatch(route, score)
