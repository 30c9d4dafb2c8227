"""The importer's neutral view of a document: what OpenAPI 3.x and Swagger 2.0 both describe.

The two front ends (`oas3`, `swagger2`) read their version into these classes; the back end
(`actions`, `security`) turns them into the definition format. Schemas stay raw (with their
`$ref`s) together with the JSON pointer they were read at, so that errors can name the place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "HTTP_METHODS",
    "Document",
    "ImportResult",
    "MediaBody",
    "Operation",
    "Parameter",
    "Scheme",
    "Server",
]

# The methods MANIFEST.md counts: every one is an operation, imported or skipped.
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@dataclass
class ImportResult:
    """What `import_openapi` returns.

    Attributes:
        definition: The integration definition, a mapping that passes `parse_definition`.
        warnings: Notes on what was approximated or left out; each names the operation or the
            security scheme it concerns.
        skipped: Operations that were not imported, each as `METHOD /path: reason`.
        operations: How many operations the document has ((path, method) pairs).
    """

    definition: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    operations: int = 0


@dataclass
class Parameter:
    """A path, query, header or cookie parameter.

    Attributes:
        name: The name on the wire.
        location: `path`, `query`, `header` or `cookie`.
        schema: The raw schema (may hold `$ref`s).
        pointer: Where `schema` was read, as a JSON pointer.
        required: Whether the operation needs it.
        description: The parameter's own description.
        deprecated: Whether the document marks it deprecated.
        explode: False when arrays are joined with commas.
        json_content: The value is sent as serialized JSON (`content: application/json`).
        style: The OpenAPI 3 style, when given.
        allow_empty: The document allows an empty value (`allowEmptyValue`, query parameters).
    """

    name: str
    location: str
    schema: Any
    pointer: str
    required: bool = False
    description: str = ""
    deprecated: bool = False
    explode: bool = True
    json_content: bool = False
    style: str | None = None
    allow_empty: bool = False


@dataclass
class MediaBody:
    """One media type a request body can be sent as.

    Attributes:
        media_type: The media type as written (`application/json`).
        schema: The raw schema (may hold `$ref`s), or None when none is given.
        pointer: Where `schema` was read.
    """

    media_type: str
    schema: Any
    pointer: str


@dataclass
class Operation:
    """One (path, method) pair of the document.

    Attributes:
        method: Upper case (`GET`).
        path: The path template as written (`/pets/{id}`).
        pointer: The operation's JSON pointer (`#/paths/~1pets~1{id}/get`).
        operation_id: The `operationId`, if any.
        summary: The summary.
        description: The description.
        tags: The tags.
        deprecated: Whether the operation is deprecated.
        parameters: Path-level and operation-level parameters merged.
        bodies: The media types of the request body, in document order.
        body_required: Whether the request body is required.
        security: The operation's own security requirements, or None to inherit the document's.
        output: The first 2xx JSON response schema and its pointer, if any.
        response_headers: The headers the first 2xx response declares (`Link` tells pagination).
        servers: The operation's (else its path item's) own servers, which override the document's.
        problems: Reasons found while reading that make the operation unimportable.
        notes: What was left out while reading (a response schema whose `$ref` does not resolve).
    """

    method: str
    path: str
    pointer: str
    operation_id: str | None = None
    summary: str = ""
    description: str = ""
    tags: list[str] = field(default_factory=list)
    deprecated: bool = False
    parameters: list[Parameter] = field(default_factory=list)
    bodies: list[MediaBody] = field(default_factory=list)
    body_required: bool = False
    security: list[dict[str, Any]] | None = None
    output: tuple[Any, str] | None = None
    response_headers: list[str] = field(default_factory=list)
    servers: list[Server] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        """The operation as warnings name it: `GET /pets/{id}`."""
        return f"{self.method} {self.path}"


@dataclass
class Scheme:
    """A security scheme, normalized (Swagger 2.0 flows carry their OpenAPI 3 names).

    Attributes:
        name: The scheme's key in the document.
        type: `apiKey`, `http`, `oauth2`, `openIdConnect` or anything else the document says.
        raw: The scheme's mapping (OpenAPI 3 shape).
    """

    name: str
    type: str
    raw: dict[str, Any]


@dataclass
class Server:
    """A server URL with its variables.

    Attributes:
        url: The URL as written, with `{variable}` placeholders.
        variables: Variables by name (`default`, `enum`, `description`).
        description: The server's description.
    """

    url: str
    variables: dict[str, Any] = field(default_factory=dict)
    description: str = ""


@dataclass
class Document:
    """A whole document in the neutral view.

    Attributes:
        root: The parsed document (for `$ref` resolution).
        version: `2.0`, `3.0` or `3.1`.
        info: The `info` mapping.
        external_docs: `externalDocs.url`, if any.
        servers: The servers, in document order.
        schemes: The security schemes, in document order.
        security: The document-level security requirements (None when absent).
        operations: Every operation, in document order.
        tags: The document's tag names.
        warnings: What could not be read (a path item whose `$ref` cannot be followed).
    """

    root: Any
    version: str
    info: dict[str, Any]
    external_docs: str | None
    servers: list[Server]
    schemes: list[Scheme]
    security: list[dict[str, Any]] | None
    operations: list[Operation]
    tags: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
