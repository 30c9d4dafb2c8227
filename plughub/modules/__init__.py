"""The aiXplain-shaped SDK objects."""

from __future__ import annotations

__all__: list[str] = []
