"""Walk `paths` with the structural checks both versions share; errors carry JSON pointers."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from plughub.engine.openapi.model import HTTP_METHODS
from plughub.engine.openapi.refs import BrokenRef, ExternalRef, Resolver, join, unresolved
from plughub.exceptions import CatalogError

__all__ = ["RawOperation", "iter_operations", "merged_parameters", "text", "url_scheme"]


@dataclass
class RawOperation:
    """An operation as found, before a front end reads it.

    Attributes:
        path: The path template.
        method: Lower case.
        item: The path item (dereferenced).
        item_pointer: The path item's pointer (its target when it was a `$ref`).
        operation: The operation mapping (dereferenced when it was a `$ref`).
        pointer: The operation's pointer (its target when it was a `$ref`).
        problem: Why the operation cannot be read (a `$ref` that does not resolve), if it cannot.
    """

    path: str
    method: str
    item: Mapping[str, Any]
    item_pointer: str
    operation: Mapping[str, Any]
    pointer: str
    problem: str | None = None


def text(value: Any) -> str:
    """Return a document string field as text (`None` and non-strings tolerated).

    Args:
        value: The field's value.

    Returns:
        The text, stripped; empty when absent.
    """
    if value is None:
        return ""
    return (value if isinstance(value, str) else str(value)).strip()


def url_scheme(url: str) -> str:
    """Return the scheme of an URL from the document, tolerating malformed ones.

    Args:
        url: An URL or a relative reference.

    Returns:
        The scheme in lower case; empty for a relative or unparsable URL.
    """
    try:
        return urlsplit(url).scheme.lower()
    except ValueError:
        return ""


def iter_operations(root: Mapping[str, Any], resolver: Resolver, warnings: list[str]) -> Iterator[RawOperation]:
    """Yield every (path, method) pair of the document, checking the structure on the way.

    A path item or an operation may be a `$ref`, to the document or to a file beside it. An
    operation whose `$ref` cannot be followed is yielded with a `problem` (the importer skips it);
    a path item whose `$ref` cannot be followed hides its operations, and a warning says so.

    Args:
        root: The document.
        resolver: Its resolver.
        warnings: Receives a line for each path item that cannot be read.

    Yields:
        The operations, in document order.

    Raises:
        CatalogError: `paths`, a path item or an operation is not a mapping.
    """
    paths = root.get("paths")
    if paths is None:
        return
    if not isinstance(paths, Mapping):
        raise CatalogError(f"#/paths: must be a mapping of path templates, not {type(paths).__name__}")
    for path, item in paths.items():
        if not isinstance(path, str) or path.startswith("x-"):
            continue
        pointer = join("#/paths", path)
        try:
            item, item_pointer = resolver.deref(item, pointer)
        except (ExternalRef, BrokenRef) as exc:
            warnings.append(f"{path}: skipped: the path item's {unresolved(exc)}")
            continue
        if item is None:
            continue
        if not isinstance(item, Mapping):
            raise CatalogError(f"{pointer}: a path item must be a mapping, not {type(item).__name__}")
        for method in HTTP_METHODS:
            if method not in item:
                continue
            operation = item[method]
            op_pointer = join(item_pointer, method)
            problem = None
            try:
                operation, op_pointer = resolver.deref(operation, op_pointer)
            except (ExternalRef, BrokenRef) as exc:
                operation, problem = {}, unresolved(exc)
            if not isinstance(operation, Mapping):
                raise CatalogError(f"{op_pointer}: an operation must be a mapping, not {type(operation).__name__}")
            yield RawOperation(path, method, item, item_pointer, operation, op_pointer, problem)


def merged_parameters(raw: RawOperation, resolver: Resolver) -> list[tuple[Mapping[str, Any], str]]:
    """Merge path-level and operation-level parameters (the operation's win on `(name, in)`).

    Args:
        raw: The operation.
        resolver: The document's resolver.

    Returns:
        Dereferenced parameters with their pointers.

    Raises:
        CatalogError: `parameters` is not a list, or a parameter is not a mapping or lacks `name`
            or `in`.
        BrokenRef: A parameter's `$ref` does not resolve.
        ExternalRef: A parameter points at another document that cannot be read.
    """
    merged: dict[tuple[str, str], tuple[Mapping[str, Any], str]] = {}
    for owner, owner_pointer in ((raw.item, raw.item_pointer), (raw.operation, raw.pointer)):
        params = owner.get("parameters")
        if params is None:
            continue
        at = join(owner_pointer, "parameters")
        if not isinstance(params, list):
            raise CatalogError(f"{at}: must be a list, not {type(params).__name__}")
        for index, param in enumerate(params):
            param, pointer = resolver.deref(param, join(at, index))
            if not isinstance(param, Mapping):
                raise CatalogError(f"{join(at, index)}: a parameter must be a mapping, not {type(param).__name__}")
            name, location = param.get("name"), param.get("in")
            if not isinstance(name, str) or not isinstance(location, str):
                raise CatalogError(f"{join(at, index)}: a parameter needs a string `name` and `in`")
            merged[(name, location)] = (param, pointer)
    return list(merged.values())
