"""Lifecycle states of a connection."""

from __future__ import annotations

from enum import Enum

__all__ = ["ConnectionStatus"]


class ConnectionStatus(str, Enum):
    """A connection is pending (OAuth consent not given yet), active, failed or expired."""

    PENDING = "pending"
    ACTIVE = "active"
    FAILED = "failed"
    EXPIRED = "expired"
