"""`Model`, the base of SDK records, and `ModelResponse` (aiXplain's `aixplain.modules.model`).

This module must not import `integration` or `connection`: they import it.
"""

from __future__ import annotations

from typing import Any

from plughub.backends import Backend, get_backend
from plughub.enums import Function, FunctionType, Supplier
from plughub.modules.model.response import ModelResponse

__all__ = ["Model", "ModelResponse"]


class Model:
    """A record of the catalog or of the user's connections.

    Args:
        id: Its id.
        name: Its name.
        description: What it is.
        api_key: The plughub server key for this object's calls (remote backend only).
        supplier: Who provides it: a string, a `Supplier`, or a dict with `name`.
        version: Its version, if any.
        function: What it does.
        is_subscribed: Kept for aiXplain parity.
        cost: Kept for aiXplain parity.
        function_type: What kind of record it is.
        **additional_info: More fields; `backend` picks the backend for this object's calls.
    """

    def __init__(
        self,
        id: str,
        name: str = "",
        description: str = "",
        api_key: str | None = None,
        supplier: dict[str, Any] | str | Supplier | int = "plughub",
        version: str | None = None,
        function: Function | None = None,
        is_subscribed: bool = False,
        cost: dict[str, Any] | None = None,
        function_type: FunctionType | None = FunctionType.AI,
        **additional_info: Any,
    ) -> None:
        self._backend: Backend | None = additional_info.pop("backend", None)
        self.id = id
        self.name = name
        self.description = description
        self.api_key = api_key
        self.supplier = supplier
        self.version = version
        self.function = function
        self.is_subscribed = is_subscribed
        self.cost = cost
        self.function_type = function_type
        self.additional_info = additional_info

    @property
    def backend(self) -> Backend:
        """The backend this object's calls go to.

        Its own backend when one was given; else the process default, with this object's
        `api_key` when the default is a remote server.
        """
        if self._backend is not None:
            return self._backend
        default = get_backend()
        if self.api_key and hasattr(default, "with_api_key"):
            self._backend = default.with_api_key(self.api_key)
            return self._backend
        return default

    def _supplier_name(self) -> str:
        if isinstance(self.supplier, dict):
            return str(self.supplier.get("name", self.supplier))
        if isinstance(self.supplier, Supplier):
            return self.supplier.value
        return str(self.supplier)

    def to_dict(self) -> dict[str, Any]:
        """Return the record's public fields.

        Returns:
            The fields (the API key is never included).
        """
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "supplier": self.supplier,
            "version": self.version,
            "function": self.function.value if self.function else None,
            "function_type": self.function_type.value if self.function_type else None,
        }

    def __repr__(self) -> str:
        return f"Model: {self.name} by {self._supplier_name()} (id={self.id})"
