"""The engine: catalog, vault, store, auth and executor. Never imports the SDK or backends."""

from __future__ import annotations

from plughub.engine.engine import Engine

__all__ = ["Engine"]
