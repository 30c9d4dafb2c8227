"""Servers -> `base_url`, with server variables as `connection_config` fields."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from plughub.engine.openapi.model import Document, Server
from plughub.engine.openapi.naming import unique, upper_snake
from plughub.engine.openapi.paths import text, url_scheme

__all__ = ["SERVER_URL_FIELD", "OperationServers", "build_base_url", "preferred"]

SERVER_URL_FIELD = "server_url"
_VARIABLE = re.compile(r"\{([^{}]+)\}")
_TEMPLATE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def build_base_url(
    doc: Document, *, override: str | None, document_url: str | None, warnings: list[str]
) -> tuple[str, dict[str, Any]]:
    """Choose the base URL: the caller's, else the first server's (its https twin if it is http).

    A server variable becomes a connection_config field (a string with the variable's default,
    enum and description) used as `${connection_config.name}`. A relative server URL resolves
    against the document's URL; when that is unknown, the base URL asks connections for
    `server_url` and a warning says to pass `base_url=` instead.

    Args:
        doc: The document.
        override: The caller's `base_url`, which wins.
        document_url: Where the document was read from, when it was an URL.
        warnings: Receives notes on relative URLs and extra servers.

    Returns:
        The base URL template and the connection_config fields it uses.
    """
    if override:
        return override.rstrip("/") or override, {}
    server = preferred(doc.servers)
    if server is not None and len(doc.servers) > 1:
        others = ", ".join(s.url for s in doc.servers if s is not server)
        which = "the first server" if server is doc.servers[0] else "the https twin of the first server,"
        warnings.append(f"servers: using {which} {server.url}; also listed: {others}")
    url = server.url.strip() if server else "/"
    config: dict[str, Any] = {}
    names: dict[str, str] = {}
    for raw in dict.fromkeys(_VARIABLE.findall(url)):
        name = raw if _TEMPLATE_NAME.match(raw) else upper_snake(raw).lower() or "server"
        if not name[0].isalpha():
            name = f"var_{name}"
        name = unique(name, config)
        names[raw] = name
        variable = server.variables.get(raw) if server else None
        config[name] = _field(raw, variable if isinstance(variable, Mapping) else {})
    template = _VARIABLE.sub(lambda m: f"${{connection_config.{names[m.group(1)]}}}", url)
    if not template.startswith("${") and not url_scheme(template):
        if template.startswith("//"):
            scheme = url_scheme(document_url) if document_url else "https"
            template = f"{scheme}:{template}"
        elif document_url and _joins(document_url, template):
            template = urljoin(document_url, template)
        else:
            field_name = unique(SERVER_URL_FIELD, config)
            warnings.append(
                f"servers: the server URL '{url}' is relative and the document's location is unknown; "
                f"pass base_url= to import_openapi, or give {field_name} when connecting"
            )
            config[field_name] = {
                "type": "string",
                "description": f"Root URL of the service (the document gives only '{url}')",
                "example": "https://api.example.com",
            }
            template = f"${{connection_config.{field_name}}}" + ("" if template == "/" else template)
    return template.rstrip("/") or template, config


def preferred(servers: list[Server]) -> Server | None:
    """The server to use: the first, or its `https://` twin when the first is `http://`.

    Args:
        servers: The servers, in document order.

    Returns:
        The server, or None when there is none.
    """
    if not servers:
        return None
    first = servers[0]
    url = first.url.strip()
    if url_scheme(url) == "http":
        twin = "https" + url[len("http") :]
        return next((s for s in servers if s.url.strip().rstrip("/") == twin.rstrip("/")), first)
    return first


def _joins(base: str, reference: str) -> bool:
    try:
        urljoin(base, reference)
    except ValueError:
        return False
    return True


def _field(raw: str, variable: Mapping[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": "string"}
    description = text(variable.get("description")) or f"Server variable {raw}"
    spec["description"] = description[:300]
    enum = variable.get("enum")
    if isinstance(enum, list) and enum:
        spec["enum"] = [str(v) for v in enum]
    if variable.get("default") not in (None, ""):
        spec["default"] = str(variable["default"])
    return spec


@dataclass
class OperationServers:
    """Resolves an operation's own `servers` into an action `base_url`.

    Attributes:
        doc: The document.
        base_url: The definition's base URL.
        override: The caller's `base_url`, if any: an operation server on the same origin as the
            document's first server moves to the override's origin with it.
        document_url: Where the document was read from, when it was an URL.
    """

    doc: Document
    base_url: str
    override: str | None
    document_url: str | None

    def base_url_for(self, servers: list[Server], notes: list[str]) -> str | None:
        """The action's own base URL, when its servers differ from the document's.

        Args:
            servers: The operation's (or its path item's) servers.
            notes: Receives a line when they cannot be used.

        Returns:
            An absolute URL without variables, or None to use the definition's base URL.
        """
        server = preferred(servers)
        if server is None:
            return None
        url = _with_defaults(server)
        if url is None:
            notes.append(f"its own server {server.url} has variables without defaults; not used")
            return None
        document_server = preferred(self.doc.servers)
        if not url_scheme(url):
            first = _with_defaults(document_server) if document_server else None
            reference = self.document_url or (first if first and url_scheme(first) else None)
            if not reference or not _joins(reference, url):
                notes.append(f"its own server {url} is relative to an unknown location; not used")
                return None
            url = urljoin(reference, url)
        first = _with_defaults(document_server) if document_server else None
        if self.override and first and _origin(url) == _origin(first):
            url = _origin(self.override) + url[len(_origin(first)) :]
        url = url.rstrip("/") or url
        return None if url == self.base_url else url


def _origin(url: str) -> str:
    match = re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*", url)
    return match.group(0) if match else ""


def _with_defaults(server: Server) -> str | None:
    missing = False

    def value(match: re.Match[str]) -> str:
        nonlocal missing
        variable = server.variables.get(match.group(1))
        default = variable.get("default") if isinstance(variable, Mapping) else None
        if default is None:
            missing = True
            return ""
        return str(default)

    url = _VARIABLE.sub(value, server.url.strip())
    return None if missing else url
