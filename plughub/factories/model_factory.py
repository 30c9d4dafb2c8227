"""`ModelFactory`: turn ids into integrations and connection tools."""

from __future__ import annotations

from typing import Any

from plughub.backends import Backend, get_backend
from plughub.enums import FunctionType
from plughub.exceptions import ConnectionNotFound, IntegrationNotFound, NotFoundError
from plughub.factories.builders import connection_tool, integration
from plughub.modules.model import Model

__all__ = ["ModelFactory"]


class ModelFactory:
    """Entry point to integrations and connections by id."""

    backend: Backend | None = None

    @classmethod
    def _backend(cls) -> Backend:
        return cls.backend if cls.backend is not None else get_backend()

    @classmethod
    def get(cls, model_id: str, api_key: str | None = None, use_cache: bool = False) -> Model:
        """Get an integration or a connection by id.

        Args:
            model_id: An integration id (`github`) or a connection id.
            api_key: The server key for the object's calls (remote backend only).
            use_cache: Kept for aiXplain parity; plughub reads fresh data.

        Returns:
            An `Integration` for an integration id, a `ConnectionTool` for a connection id.

        Raises:
            NotFoundError: Neither an integration nor a connection has this id.
        """
        backend = cls._backend()
        try:
            return connection_tool(backend.get_connection(model_id), cls.backend, api_key)
        except ConnectionNotFound:
            pass
        try:
            return integration(backend.get_integration(model_id), cls.backend, api_key)
        except IntegrationNotFound:
            raise NotFoundError(
                f"No integration or connection with id '{model_id}'. List integrations with "
                "IntegrationFactory.list() and connections with "
                "ModelFactory.list(function_type=FunctionType.CONNECTION).",
                details={"id": model_id},
            ) from None

    @classmethod
    def list(
        cls,
        function_type: FunctionType | None = None,
        query: str | None = None,
        page_number: int = 0,
        page_size: int = 20,
        **_ignored: Any,
    ) -> dict[str, Any]:
        """List integrations, connections (`FunctionType.CONNECTION`) or subscriptions (`FunctionType.SUBSCRIPTION`).

        Args:
            function_type: `FunctionType.CONNECTION` for connections, `FunctionType.SUBSCRIPTION`
                for subscriptions (`query` does not apply); integrations otherwise.
            query: Text to look for.
            page_number: 0-based page.
            page_size: Results per page.
            **_ignored: aiXplain filters plughub does not use (suppliers, languages, ...).

        Returns:
            `{"results": [...], "page_total", "page_number", "total"}`.
        """
        backend = cls._backend()
        page: Any
        results: list[Model]
        if function_type is FunctionType.SUBSCRIPTION:
            from plughub.modules.model.subscription import Subscription

            page = backend.list_subscriptions(None, page_number, page_size)
            results = [Subscription.of(info, cls.backend) for info in page.results]
        elif function_type in (FunctionType.CONNECTION, FunctionType.MCP_CONNECTION):
            page = backend.list_connections(query, page_number, page_size)
            results = [connection_tool(info, cls.backend) for info in page.results]
        else:
            page = backend.list_integrations(query, page_number, page_size)
            results = [integration(info, cls.backend) for info in page.results]
        return {"results": results, "page_total": page.page_total, "page_number": page.page_number, "total": page.total}
