"""Enumerations shared by the SDK, the engine and the server (a leaf: imports nothing of ours)."""

from __future__ import annotations

from plughub.enums.authentication_schema import AuthenticationSchema
from plughub.enums.connection_status import ConnectionStatus
from plughub.enums.function import Function
from plughub.enums.function_type import FunctionType
from plughub.enums.response_status import ResponseStatus
from plughub.enums.supplier import Supplier

__all__ = [
    "AuthenticationSchema",
    "ConnectionStatus",
    "Function",
    "FunctionType",
    "ResponseStatus",
    "Supplier",
]
