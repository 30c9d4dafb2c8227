"""Read an OpenAPI document from a file, an URL or a mapping."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from plughub.exceptions import CatalogError

__all__ = ["http_fetch", "load_source", "parse_text"]

# libyaml's loader is several times faster on multi-megabyte documents.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TIMEOUT = 30.0


def http_fetch(url: str) -> bytes:
    """Fetch an URL with httpx (redirects followed, 30 s timeout).

    Args:
        url: An http(s) URL.

    Returns:
        The response body.

    Raises:
        httpx.HTTPError: The request failed or the status is not 2xx.
    """
    import httpx

    response = httpx.get(url, follow_redirects=True, timeout=_TIMEOUT)
    response.raise_for_status()
    return response.content


def parse_text(raw: bytes | str, where: str) -> Any:
    """Parse JSON or YAML text.

    Args:
        raw: The document's bytes or text.
        where: How to name it in error messages.

    Returns:
        The parsed value.

    Raises:
        CatalogError: It is neither JSON nor YAML.
    """
    text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
    if text.lstrip().startswith("{"):
        try:
            return json.loads(text)
        except ValueError:
            pass  # YAML is a superset of JSON's syntax; let it report the error
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise CatalogError(f"{where}: not valid JSON or YAML{at}: {getattr(exc, 'problem', None) or exc}") from None


def load_source(
    source: str | Path | Mapping[str, Any], fetch: Callable[[str], bytes] | None
) -> tuple[Any, str | Path | None, Callable[[str], bytes]]:
    """Load the document.

    Args:
        source: A path, an http(s) URL, or the parsed document.
        fetch: Reads an URL; httpx when None.

    Returns:
        The parsed document, where it was read (its URL as a string, its file as a `Path`, None for
        a parsed document), and the fetch function to use for anything else (OpenID Connect
        discovery, files a document from an URL refers to).

    Raises:
        CatalogError: The source cannot be read or parsed.
    """
    reader = fetch or http_fetch
    if not isinstance(source, (str, Path)):
        return source, None, reader  # parsed already (a mapping, or anything else the caller passed)
    text_source = str(source)
    if isinstance(source, str) and text_source.lower().startswith(("http://", "https://")):
        try:
            raw = reader(text_source)
        except Exception as exc:
            raise CatalogError(f"{text_source}: cannot fetch the document ({type(exc).__name__}: {exc})") from None
        return parse_text(raw, text_source), text_source, reader
    path = Path(source)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    try:
        return parse_text(raw, str(path)), path, reader
    except UnicodeDecodeError as exc:
        raise CatalogError(f"{path}: not UTF-8 text (byte {exc.start})") from None
