"""JSON pointers and `$ref` resolution, with errors that name where the problem is.

A reference resolves inside the document, or in a file beside it (`common.yaml#/Limit`,
`resources/droplets/list.yml`): DigitalOcean's official document references every operation from
such files. A file is read only from the document's own directory or below (a document read from
an URL: the same, relative to its URL, with the importer's fetch), never from another URL, and
never above the document. Inside such a file, pointers are that file's own; the pointer of a value
found there names the file (`resources/droplets/list.yml#/get`), so a reference met in it resolves
against the right file.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin

from plughub.engine.openapi.source import parse_text
from plughub.exceptions import CatalogError

__all__ = ["BrokenRef", "ExternalRef", "Resolver", "escape", "join", "unescape", "unresolved"]


class ExternalRef(Exception):
    """A `$ref` to another document that cannot be read: the caller skips or approximates.

    Args:
        ref: The reference as written.
        reason: Why it cannot be read.
    """

    def __init__(self, ref: str, reason: str = "points at another document (not supported)") -> None:
        super().__init__(f"$ref {ref} {reason}")
        self.ref = ref
        self.reason = reason


class BrokenRef(CatalogError):
    """A `$ref` that does not resolve: the operations that reach it are skipped, not the document."""


def unresolved(exc: ExternalRef | BrokenRef) -> str:
    """Say why a reference could not be followed, for a skip reason or a warning.

    Args:
        exc: The error.

    Returns:
        `$ref X points at ...` or `#/pointer: $ref X does not resolve`.
    """
    return exc.message if isinstance(exc, BrokenRef) else str(exc)


def escape(token: str) -> str:
    """Escape one JSON pointer token (RFC 6901).

    Args:
        token: A mapping key or list index.

    Returns:
        The token with `~` and `/` escaped.
    """
    return token.replace("~", "~0").replace("/", "~1")


def unescape(token: str) -> str:
    """Undo `escape`.

    Args:
        token: An escaped token.

    Returns:
        The key it stands for.
    """
    return token.replace("~1", "/").replace("~0", "~")


def join(pointer: str, *tokens: str | int) -> str:
    """Extend a pointer.

    Args:
        pointer: A pointer such as `#/paths`.
        *tokens: Keys or indexes to append.

    Returns:
        The longer pointer.
    """
    return pointer + "".join("/" + escape(str(t)) for t in tokens)


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


class Resolver:
    """Resolves references in one document and the files beside it.

    Args:
        root: The parsed document.
        location: Where the document was read: its file, or its http(s) URL; None for a document
            given already parsed (references to other files then cannot be read).
        fetch: Reads an URL (used only when `location` is an URL).
    """

    def __init__(
        self, root: Any, location: str | Path | None = None, fetch: Callable[[str], bytes] | None = None
    ) -> None:
        self.root = root
        self._location = location
        self._fetch = fetch
        self._name = Path(location).name if isinstance(location, Path) else str(location or "").rsplit("/", 1)[-1]
        self._cache: dict[str, Any] = {}
        self._files: dict[str, Any] = {}

    def canonical(self, ref: str, at: str) -> str:
        """Name the target of a reference independently of where it was written.

        Args:
            ref: The reference (`#/components/schemas/Pet`, `models/pet.yml#/Pet`).
            at: The pointer of the `$ref` itself (it may name a file: `models/a.yml#/x`).

        Returns:
            `#/pointer` inside the document, `relative/file.yml#/pointer` in a file beside it.

        Raises:
            ExternalRef: The reference points at an URL, or above the document's directory.
        """
        target, _hash, fragment = ref.partition("#")
        here = at.partition("#")[0] if "#" in at else ""
        if not target:
            return f"{here}#{fragment}"
        if _SCHEME.match(target) or target.startswith("/") or "\\" in target:
            raise ExternalRef(ref, "points at an URL or an absolute path; only files beside the document are read")
        path = posixpath.normpath(posixpath.join(posixpath.dirname(here), unquote(target)))
        if path == ".." or path.startswith("../"):
            raise ExternalRef(ref, "points above the document's directory; only files beside the document are read")
        if path == self._name:
            path = ""  # the document referring to itself by name
        return f"{path}#{fragment}"

    def resolve(self, ref: str, at: str) -> tuple[Any, str]:
        """Find what a reference points at.

        Args:
            ref: The reference.
            at: The pointer of the `$ref` itself, for the error message and relative files.

        Returns:
            The target value and its canonical pointer.

        Raises:
            ExternalRef: The reference points at another document that cannot be read.
            BrokenRef: The reference does not resolve; the message starts with `at`.
        """
        canonical = self.canonical(ref, at)
        if canonical in self._cache:
            return self._cache[canonical], canonical
        path, _hash, fragment = canonical.partition("#")
        node = self._file(path, ref) if path else self.root
        if fragment and not fragment.startswith("/"):
            raise BrokenRef(f"{at}: $ref {ref} does not resolve (only JSON pointers are supported)")
        for raw in fragment.split("/")[1:] if fragment else []:
            token = unescape(unquote(raw))
            if isinstance(node, Mapping) and token in node:
                node = node[token]
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
            else:
                raise BrokenRef(f"{at}: $ref {ref} does not resolve")
        self._cache[canonical] = node
        return node, canonical

    def lookup(self, ref: str, at: str) -> Any:
        """Find what a reference points at (`resolve` without the canonical pointer).

        Args:
            ref: The reference (`#/components/schemas/Pet`).
            at: The pointer of the `$ref` itself, for the error message.

        Returns:
            The target value.

        Raises:
            ExternalRef: The reference points at another document that cannot be read.
            BrokenRef: The reference does not resolve; the message starts with `at`.
        """
        return self.resolve(ref, at)[0]

    def deref(self, value: Any, at: str) -> tuple[Any, str]:
        """Follow `$ref`s until a value that is not a reference.

        Args:
            value: A value that may be `{"$ref": ...}`.
            at: Its pointer.

        Returns:
            The value and the (canonical) pointer it was found at.

        Raises:
            ExternalRef: A reference points at another document that cannot be read.
            BrokenRef: A reference does not resolve, or loops.
            CatalogError: A reference is not a string.
        """
        seen: set[str] = set()
        while isinstance(value, Mapping) and "$ref" in value:
            ref = value["$ref"]
            if not isinstance(ref, str):
                raise CatalogError(f"{at}/$ref: must be a string, not {type(ref).__name__}")
            value, target = self.resolve(ref, at)
            if target in seen:
                raise BrokenRef(f"{at}: $ref {ref} refers to itself")
            seen.add(target)
            at = target
        return value, at

    def _file(self, path: str, ref: str) -> Any:
        if path in self._files:
            return self._files[path]
        location = self._location
        if location is None:
            raise ExternalRef(ref, "points at another file, and the document's location is unknown (import it by path)")
        try:
            if isinstance(location, Path):
                directory = location.resolve().parent
                file = (directory / path).resolve()
                if not file.is_relative_to(directory):  # a symbolic link out of the directory
                    raise ExternalRef(ref, "points outside the document's directory")
                raw = file.read_bytes()
            else:
                if self._fetch is None:
                    raise ExternalRef(ref, "points at another file, and fetching is not allowed")
                raw = self._fetch(urljoin(location, path))
        except ExternalRef:
            raise
        except Exception as exc:
            raise ExternalRef(ref, f"cannot be read ({type(exc).__name__}: {exc})") from None
        try:
            parsed = parse_text(raw, path)
        except (CatalogError, UnicodeDecodeError) as exc:
            raise ExternalRef(ref, f"cannot be parsed ({exc})") from None
        self._files[path] = parsed
        return parsed
