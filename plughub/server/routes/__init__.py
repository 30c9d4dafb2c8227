"""The REST API's routes, one module per resource; each route calls one engine method."""

from __future__ import annotations

__all__: list[str] = []
