"""The engine's catalog calls: search, get, and register user-defined integrations."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from plughub.engine.catalog import Catalog, parse_definition
from plughub.engine.store import LOCAL_TEAM, Store
from plughub.exceptions import CatalogError, ConflictError, InvalidDefinition, InvalidInput
from plughub.schemas import IntegrationInfo, Page

__all__ = ["IntegrationsMixin", "check_paging", "page_of"]


def page_of(items: list[Any], total: int, page_number: int, page_size: int) -> Page[Any]:
    """Build a page, checking the paging arguments.

    Args:
        items: This page's items.
        total: How many there are in all.
        page_number: 0-based page.
        page_size: Items per page.

    Returns:
        The page.
    """
    return Page(results=items, total=total, page_number=page_number, page_total=-(-total // page_size))


def check_paging(page_number: int, page_size: int) -> None:
    """Refuse paging arguments out of range.

    Args:
        page_number: 0-based page.
        page_size: Items per page.

    Raises:
        InvalidInput: A value is out of range.
    """
    if page_number < 0 or not 1 <= page_size <= 1000:
        raise InvalidInput("page_number must be >= 0 and page_size between 1 and 1000")
    # Databases count rows in 64-bit integers; far beyond any real listing, refuse politely.
    if page_number * page_size > 1_000_000_000:
        raise InvalidInput("page_number is out of range: page_number * page_size must not exceed 1,000,000,000")


class IntegrationsMixin:
    """Catalog calls of the `Engine`."""

    catalog: Catalog
    store: Store

    def list_integrations(
        self,
        query: str | None = None,
        page_number: int = 0,
        page_size: int = 20,
        *,
        team: str = LOCAL_TEAM,
        category: str | None = None,
    ) -> Page[IntegrationInfo]:
        """Search the catalog.

        Args:
            query: Words to look for; None lists all.
            page_number: 0-based page.
            page_size: Results per page.
            team: The team asking (its own definitions are included).
            category: Only integrations in this category.

        Returns:
            One page of integrations.
        """
        check_paging(page_number, page_size)
        found = self.catalog.search(query, team, category)
        start = page_number * page_size
        return page_of(found[start : start + page_size], len(found), page_number, page_size)

    def get_integration(self, id_or_name: str, *, team: str = LOCAL_TEAM) -> IntegrationInfo:
        """Find an integration by id or display name.

        Args:
            id_or_name: `github` or `GitHub`.
            team: The team asking.

        Returns:
            The integration.

        Raises:
            IntegrationNotFound: Nothing matches.
        """
        return self.catalog.info(self.catalog.find(id_or_name, team).id, team)

    def create_integration(
        self, definition: Mapping[str, Any] | str | Path, *, team: str = LOCAL_TEAM
    ) -> IntegrationInfo:
        """Validate, register and persist a user-defined integration, visible to one team.

        Args:
            definition: A mapping, or the path of a YAML or JSON definition file.
            team: The team that owns it.

        Returns:
            The registered integration.

        Raises:
            CatalogError: The definition is broken (the source and the key are named).
            ConflictError: The id belongs to a bundled or catalog-path integration.
        """
        data, source = self._read_definition(definition)
        try:
            spec = parse_definition(data, source=source)
        except CatalogError as exc:
            raise InvalidDefinition(exc.message) from None
        if self.catalog.contains(spec.id) and self.catalog.source(spec.id, team) != "user":
            raise ConflictError(
                f"integration '{spec.id}' already exists ({self.catalog.source(spec.id)}); choose another id"
            )
        self.store.put_integration(team, spec.id, _jsonable(data))
        self.catalog.add(spec, team)
        return self.catalog.info(spec.id, team)

    @staticmethod
    def _read_definition(definition: Mapping[str, Any] | str | Path) -> tuple[Any, str]:
        if isinstance(definition, Mapping):
            return dict(definition), "<definition>"
        path = Path(definition)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise CatalogError(f"{path}: cannot read the file ({exc.strerror})") from None
        try:
            return yaml.safe_load(text), str(path)
        except yaml.YAMLError as exc:
            raise CatalogError(f"{path}: not valid YAML: {exc}") from None


def _jsonable(data: Any) -> Any:
    return json.loads(json.dumps(data, default=str))
