"""`IntegrationFactory`: find, list and create integrations."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from plughub.backends import Backend, get_backend
from plughub.exceptions import InvalidInput
from plughub.factories.builders import integration
from plughub.modules.model.integration import Integration
from plughub.schemas import VerifyReport

__all__ = ["IntegrationFactory"]


class IntegrationFactory:
    """Entry point to the catalog."""

    backend: Backend | None = None

    @classmethod
    def _backend(cls) -> Backend:
        return cls.backend if cls.backend is not None else get_backend()

    @classmethod
    def get(cls, model_id: str | None = None, name: str | None = None, api_key: str | None = None) -> Integration:
        """Find one integration.

        Args:
            model_id: Its id (`github`).
            name: Its display name (`GitHub`), when no id is given.
            api_key: The server key for the object's calls (remote backend only).

        Returns:
            The integration.

        Raises:
            IntegrationNotFound: Nothing has this id or name.
            ValueError: Neither an id nor a name was given.
        """
        wanted = model_id or name
        if not wanted:
            raise InvalidInput("IntegrationFactory.get needs model_id or name")
        backend = cls._backend()
        return integration(backend.get_integration(wanted), cls.backend, api_key)

    @classmethod
    def list(
        cls, query: str | None = None, page_number: int = 0, page_size: int = 20, category: str | None = None
    ) -> dict[str, Any]:
        """Search the catalog.

        Args:
            query: Words to look for in ids, names, descriptions, categories and action names.
            page_number: 0-based page.
            page_size: Results per page.
            category: Only integrations in this category (`crm`, `payments`, ...).

        Returns:
            `{"results": [Integration, ...], "page_total", "page_number", "total"}`.
        """
        page = cls._backend().list_integrations(query, page_number, page_size, category)
        return {
            "results": [integration(info, cls.backend) for info in page.results],
            "page_total": page.page_total,
            "page_number": page.page_number,
            "total": page.total,
        }

    @classmethod
    def create(cls, definition: dict[str, Any] | str | Path) -> Integration:
        """Register a user-defined integration (persisted in the store).

        Args:
            definition: A definition as a dict, or the path of a YAML or JSON file.

        Returns:
            The integration.

        Raises:
            CatalogError: The definition is broken (the key is named).
            ConflictError: The id belongs to a bundled integration.
        """
        return integration(cls._backend().create_integration(definition), cls.backend)

    @classmethod
    def from_openapi(
        cls,
        source: dict[str, Any] | str | Path,
        id: str | None = None,
        name: str | None = None,
        base_url: str | None = None,
        include: Sequence[str] | None = None,
        exclude: Sequence[str] | None = None,
    ) -> Integration:
        """Turn an OpenAPI 3.x or Swagger 2.0 document into a registered integration.

        Operations become actions, security schemes become authentication schemes, servers the
        base URL (server variables become connection config). What could not be imported is
        reported with a `UserWarning` and kept on `integration.additional_info["import_report"]`.

        Args:
            source: A file path, an http(s) URL, or the parsed document.
            id: The integration id; a slug of the document's title by default.
            name: The display name; the document's title by default.
            base_url: The base URL, instead of the document's first server.
            include: Keep only operations with one of these tags or path prefixes (`/pets`).
            exclude: Leave out operations with one of these tags or path prefixes.

        Returns:
            The integration.

        Raises:
            InvalidDefinition: The document is malformed (the JSON pointer of the problem is named).
            ConflictError: The id belongs to a bundled integration.
        """
        options = {"id": id, "name": name, "base_url": base_url, "include": include, "exclude": exclude}
        report = cls._backend().import_integration(source, options)
        assert report.integration is not None  # noqa: S101 - registering always describes it
        if report.skipped:
            warnings.warn(
                f"{report.integration.name}: {len(report.skipped)} of {report.operations} operations were not "
                f"imported (first: {report.skipped[0]}); see additional_info['import_report']",
                UserWarning,
                stacklevel=2,
            )
        found = integration(report.integration, cls.backend)
        found.additional_info["import_report"] = report
        return found

    @classmethod
    def verify(
        cls,
        id: str,
        openapi: Mapping[str, Any] | str | Path | Sequence[Mapping[str, Any] | str | Path],
    ) -> VerifyReport:
        """Check an integration against the vendor's OpenAPI document(s).

        Every action must be an operation of the document (its method and path), each input a
        parameter in the same place or a property of the request body, and nothing the document
        requires may be missing. Findings for the actions the definition lists in
        `verified_against.exceptions` are reported as accepted, with the recorded reason.

        Args:
            id: The integration id (or name).
            openapi: A file path, an http(s) URL or a parsed document; or a list of them, whose
                operations are checked together.

        Returns:
            The report; `report.ok` is False when there is any finding.

        Raises:
            IntegrationNotFound: No such integration.
            InvalidDefinition: A document cannot be read or is not OpenAPI.
        """
        sources = list(openapi) if isinstance(openapi, (list, tuple)) else [openapi]
        return cls._backend().verify_integration(id, sources)  # type: ignore[arg-type]
