"""JSON pointers and local `$ref` resolution, with errors that name where the problem is."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from plughub.exceptions import CatalogError

__all__ = ["ExternalRef", "Resolver", "escape", "join", "unescape"]


class ExternalRef(Exception):
    """A `$ref` to another file or URL: not supported, so the caller skips or approximates.

    Args:
        ref: The reference as written.
    """

    def __init__(self, ref: str) -> None:
        super().__init__(ref)
        self.ref = ref


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


class Resolver:
    """Resolves local references (`#/...`) in one document.

    Args:
        root: The parsed document.
    """

    def __init__(self, root: Any) -> None:
        self.root = root
        self._cache: dict[str, Any] = {}

    def lookup(self, ref: str, at: str) -> Any:
        """Find what a local reference points at.

        Args:
            ref: The reference (`#/components/schemas/Pet`).
            at: The pointer of the `$ref` itself, for the error message.

        Returns:
            The target value.

        Raises:
            ExternalRef: The reference points at another document.
            CatalogError: The reference does not resolve; the message starts with `at`.
        """
        if ref in self._cache:
            return self._cache[ref]
        if not ref.startswith("#"):
            raise ExternalRef(ref)
        node = self.root
        path = ref[1:]
        if path and not path.startswith("/"):
            raise CatalogError(f"{at}: $ref {ref} does not resolve (only JSON pointers are supported)")
        for raw in path.split("/")[1:] if path else []:
            token = unescape(unquote(raw))
            if isinstance(node, Mapping) and token in node:
                node = node[token]
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
            else:
                raise CatalogError(f"{at}: $ref {ref} does not resolve")
        self._cache[ref] = node
        return node

    def deref(self, value: Any, at: str) -> tuple[Any, str]:
        """Follow `$ref`s until a value that is not a reference.

        Args:
            value: A value that may be `{"$ref": ...}`.
            at: Its pointer.

        Returns:
            The value and the pointer it was found at.

        Raises:
            ExternalRef: A reference points at another document.
            CatalogError: A reference does not resolve, is not a string, or loops.
        """
        seen: set[str] = set()
        while isinstance(value, Mapping) and "$ref" in value:
            ref = value["$ref"]
            if not isinstance(ref, str):
                raise CatalogError(f"{at}/$ref: must be a string, not {type(ref).__name__}")
            if ref in seen:
                raise CatalogError(f"{at}: $ref {ref} refers to itself")
            seen.add(ref)
            value = self.lookup(ref, at)
            at = ref
        return value, at
