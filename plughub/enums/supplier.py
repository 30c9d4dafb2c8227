"""Suppliers of model records."""

from __future__ import annotations

from enum import Enum

__all__ = ["Supplier"]


class Supplier(Enum):
    """Who provides a record. Bundled integrations name their company as a plain string."""

    PLUGHUB = "plughub"
