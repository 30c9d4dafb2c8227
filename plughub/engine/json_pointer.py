"""JSON pointers (RFC 6901): checked where a definition writes them, resolved in a service's answers."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, Final

__all__ = ["MISSING", "check_pointer", "escape_token", "resolve", "tokens"]


class _Missing:
    """What `resolve` answers for a pointer that leads nowhere (distinct from a JSON null)."""

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Final = _Missing()


def check_pointer(value: str | None) -> str | None:
    """Check that a definition's value is a JSON pointer (a pydantic validator's body).

    Args:
        value: The value ('' points at the whole document; None is left as it is).

    Returns:
        The value.

    Raises:
        ValueError: It does not start with `/`, or holds a `~` that is not `~0` or `~1`.
    """
    if value is None or value == "":
        return value
    if not value.startswith("/"):
        raise ValueError(f"'{value}' is not a JSON pointer; write '/{value}' ('' is the whole document)")
    tokens(value)
    return value


@functools.lru_cache(maxsize=1024)
def tokens(pointer: str) -> tuple[str, ...]:
    """Split a pointer into its reference tokens, unescaped (`~1` is `/`, `~0` is `~`).

    Args:
        pointer: The pointer.

    Returns:
        The tokens (none for '').

    Raises:
        ValueError: The pointer is not '' and does not start with `/`, or has a bad `~` escape.
    """
    if pointer == "":
        return ()
    if not pointer.startswith("/"):
        raise ValueError(f"'{pointer}' is not a JSON pointer")
    parts = pointer[1:].split("/")
    for part in parts:
        if "~" in part.replace("~0", "").replace("~1", ""):
            raise ValueError(f"'{pointer}': '~' is written '~0' in a JSON pointer, '/' is '~1'")
    return tuple(part.replace("~1", "/").replace("~0", "~") for part in parts)


def escape_token(token: str) -> str:
    """Escape one reference token (`/` as `~1`, `~` as `~0`), to build a pointer.

    Args:
        token: A member name or an index.

    Returns:
        The escaped token.
    """
    return token.replace("~", "~0").replace("/", "~1")


def resolve(document: Any, pointer: str) -> Any:
    """The value a pointer leads to in a parsed JSON document.

    Args:
        document: The document (dicts, lists and scalars, as `json.loads` makes them).
        pointer: The pointer.

    Returns:
        The value (a JSON null is None), or `MISSING` when a member or an index is absent, or a
        token meets a scalar.
    """
    current = document
    for token in tokens(pointer):
        if isinstance(current, Mapping):
            if token not in current:
                return MISSING
            current = current[token]
        elif isinstance(current, list):
            # RFC 6901: decimal digits with no leading zero ("-" names no element that exists).
            if not token.isdigit() or (token != "0" and token.startswith("0")):
                return MISSING
            index = int(token)
            if index >= len(current):
                return MISSING
            current = current[index]
        else:
            return MISSING
    return current
