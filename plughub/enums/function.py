"""The functions a model record performs (the subset of aiXplain's `Function` plughub uses)."""

from __future__ import annotations

from enum import Enum

__all__ = ["Function"]


class Function(Enum):
    """Function of a model record: integrations are connectors, connections are utilities."""

    CONNECTOR = "connector"
    CONNECTION = "connection"
    UTILITIES = "utilities"
