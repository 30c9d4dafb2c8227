"""Remove secret values from anything that leaves the engine (errors, excerpts, echoed data)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

__all__ = ["MASK", "Redactor", "mask"]

MASK = "***"
# Shorter values are too common to scrub (a password of "X" would mangle every excerpt), and no
# real credential is this short.
_MIN_SECRET_LENGTH = 4


def mask(value: Any) -> str:
    """Mask a secret for display: its last 4 characters when it is long, else nothing.

    Args:
        value: The secret.

    Returns:
        A mask such as `***3f9a`.
    """
    text = str(value)
    return MASK + text[-4:] if len(text) >= 16 else MASK


class Redactor:
    """Replaces known secret values with `***`.

    Args:
        secrets: The values to hide; non-strings and very short values are ignored.
    """

    def __init__(self, secrets: Iterable[Any]) -> None:
        values = {s for s in secrets if isinstance(s, str) and len(s) >= _MIN_SECRET_LENGTH}
        # Longest first, so that a secret containing another is replaced whole.
        self._secrets = sorted(values, key=len, reverse=True)
        # Each secret as written, and as JSON encoders may escape it (`\\/`, `\\uXXXX`, `\\"`).
        forms = {
            form
            for s in self._secrets
            for escaped in (json.dumps(s)[1:-1], json.dumps(s, ensure_ascii=False)[1:-1])
            for form in (s, escaped, escaped.replace("/", "\\/"))
        }
        self._forms = sorted(forms, key=len, reverse=True)
        self._needles = [form.encode() for form in self._forms]

    def __repr__(self) -> str:
        return f"Redactor({len(self._secrets)} secrets)"

    def __bool__(self) -> bool:
        return bool(self._secrets)

    def found_in(self, text: str) -> bool:
        """Whether any secret (or its JSON-escaped form) occurs in a text."""
        return any(form in text for form in self._forms)

    def found_in_bytes(self, data: bytes) -> bool:
        """Whether any secret occurs in a raw body: as UTF-8, or in any form JSON encoders write it.

        Args:
            data: The body.

        Returns:
            True when a secret (or a JSON-escaped form of it) is in it.
        """
        return any(needle in data for needle in self._needles)

    def text(self, text: str) -> str:
        """Return a text with every secret (and its JSON-escaped forms) replaced."""
        for form in self._forms:
            if form in text:
                text = text.replace(form, MASK)
        return text

    def data(self, value: Any) -> Any:
        """Return a JSON-like value with every secret inside its strings replaced."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)): self.data(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.data(v) for v in value]
        return value
