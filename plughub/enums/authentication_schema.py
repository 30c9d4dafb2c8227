"""The six ways a connection authenticates to its service."""

from __future__ import annotations

from enum import Enum

__all__ = ["AuthenticationSchema"]


class AuthenticationSchema(Enum):
    """Authentication schemes an integration may support.

    Each member's value is its name, as in the aiXplain SDK, so the value is also the `mode`
    written in a definition file.
    """

    BEARER_TOKEN = "BEARER_TOKEN"
    OAUTH1 = "OAUTH1"
    OAUTH2 = "OAUTH2"
    API_KEY = "API_KEY"
    BASIC = "BASIC"
    NO_AUTH = "NO_AUTH"
