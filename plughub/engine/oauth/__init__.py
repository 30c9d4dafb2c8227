"""Obtain credentials: OAuth 2.0 and OAuth 1.0a builders and parsers, the apps, and the flows that store them.

The modules are imported by name (`apps`, `flows`, `oauth1`, `oauth2`).
"""

from __future__ import annotations

__all__: list[str] = []
