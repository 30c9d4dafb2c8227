"""The catalog's calls: search, get, register user-defined integrations, import and verify OpenAPI."""

from __future__ import annotations

import builtins
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from plughub.engine.catalog.catalog import Catalog
from plughub.engine.catalog.describe import describe_action
from plughub.engine.catalog.loader import parse_definition
from plughub.engine.catalog.models import IntegrationSpec
from plughub.engine.http.send import Sender
from plughub.engine.paging import check_paging, page_of
from plughub.engine.store import LOCAL_TEAM, Store
from plughub.exceptions import CatalogError, ConflictError, InvalidDefinition, InvalidInput
from plughub.schemas import ActionInfo, ImportReport, IntegrationInfo, Page, VerifyReport

__all__ = ["IntegrationService", "stored_definition"]


def stored_definition(store: Store, team: str, integration_id: str) -> IntegrationSpec | None:
    """A team's definition as another server process stored it (the catalog's `missing` lookup).

    Args:
        store: The store.
        team: The team.
        integration_id: The integration.

    Returns:
        The definition, or None when the team has none with this id.
    """
    definition = store.integrations.get(team, integration_id)
    if definition is None:
        return None
    return parse_definition(definition, source=f"stored integration '{integration_id}'")


class IntegrationService:
    """The catalog as callers see it: the bundled and catalog-path integrations and each team's own.

    Args:
        catalog: The catalog.
        store: Where teams' definitions are kept.
        http: Fetches documents given by URL (through the network guard, in a server).
    """

    def __init__(self, catalog: Catalog, store: Store, http: Sender) -> None:
        self._catalog = catalog
        self._store = store
        self._http = http

    def __repr__(self) -> str:
        return f"IntegrationService(integrations={len(self._catalog)})"

    def load_stored(self, team: str | None = None) -> None:
        """Read the teams' definitions from the store into the catalog (all teams, or one).

        Other server processes may have stored some since this one started; listings call this.

        Args:
            team: Only this team's; None for every team's.
        """
        for owner, integration_id, definition in self._store.integrations.list():
            if team is None or owner == team:
                self._catalog.add(parse_definition(definition, source=f"stored integration '{integration_id}'"), owner)

    def list(
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
        self.load_stored(team)  # another server process may have stored some
        found = self._catalog.search(query, team, category)
        start = page_number * page_size
        return page_of(found[start : start + page_size], len(found), page_number, page_size)

    def actions(self, id_or_name: str, *, team: str = LOCAL_TEAM) -> builtins.list[ActionInfo]:
        """An integration's actions with their inputs (what any connection of it can run).

        Args:
            id_or_name: The integration's id or name.
            team: The team asking.

        Returns:
            The actions, in the definition's order.

        Raises:
            IntegrationNotFound: Nothing matches.
        """
        spec = self._catalog.find(id_or_name, team)
        return [describe_action(code, action) for code, action in spec.actions.items()]

    def categories(self, *, team: str = LOCAL_TEAM) -> dict[str, int]:
        """Every category a team sees, with how many integrations are in it (sorted by name).

        Args:
            team: The team asking.

        Returns:
            Counts by category.
        """
        return self._catalog.categories(team)

    def get(self, id_or_name: str, *, team: str = LOCAL_TEAM) -> IntegrationInfo:
        """Find an integration by id or display name.

        Args:
            id_or_name: `github` or `GitHub`.
            team: The team asking.

        Returns:
            The integration.

        Raises:
            IntegrationNotFound: Nothing matches.
        """
        return self._catalog.info(self._catalog.find(id_or_name, team).id, team)

    def create(self, definition: Mapping[str, Any] | str | Path, *, team: str = LOCAL_TEAM) -> IntegrationInfo:
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
        if self._catalog.contains(spec.id) and self._catalog.source(spec.id, team) != "user":
            raise ConflictError(
                f"integration '{spec.id}' already exists ({self._catalog.source(spec.id)}); choose another id"
            )
        self._store.integrations.put(team, spec.id, _jsonable(data))
        self._catalog.add(spec, team)
        return self._catalog.info(spec.id, team)

    def import_openapi(
        self,
        source: Mapping[str, Any] | str | Path,
        *,
        id: str | None = None,
        name: str | None = None,
        base_url: str | None = None,
        include: Sequence[str] | None = None,
        exclude: Sequence[str] | None = None,
        register: bool = True,
        team: str = LOCAL_TEAM,
    ) -> ImportReport:
        """Turn an OpenAPI 3.x or Swagger 2.0 document into an integration, and register it.

        Args:
            source: A file path, an http(s) URL (fetched through the engine's HTTP client, so the
                server's network guard applies), or the parsed document.
            id: The integration id; a slug of the document's title by default.
            name: The display name; the document's title by default.
            base_url: The base URL, instead of the document's first server.
            include: Keep only operations with one of these tags or path prefixes.
            exclude: Leave out operations with one of these tags or path prefixes.
            register: Register (and persist) the definition for the team; False only builds it.
            team: The team that owns it.

        Returns:
            The definition, the registered integration, and the warnings and skipped operations.

        Raises:
            InvalidDefinition: The document is malformed (the JSON pointer of the problem is named).
            ConflictError: The id belongs to a bundled integration.
        """
        from plughub.engine.openapi import import_openapi

        try:
            result = import_openapi(
                source,
                id=id,
                name=name,
                base_url=base_url,
                include=include,
                exclude=exclude,
                fetch=self._fetch_document,
            )
        except CatalogError as exc:
            raise InvalidDefinition(exc.message) from None
        info = self.create(result.definition, team=team) if register else None
        return ImportReport(
            definition=result.definition,
            integration=info,
            operations=result.operations,
            actions=len(result.definition.get("actions", {})),
            warnings=result.warnings,
            skipped=result.skipped,
        )

    def verify(
        self,
        id_or_name: str,
        documents: Sequence[Mapping[str, Any] | str | Path],
        *,
        names: Sequence[str | None] | None = None,
        team: str = LOCAL_TEAM,
    ) -> VerifyReport:
        """Check an integration's actions against the vendor's OpenAPI document(s).

        Args:
            id_or_name: The integration.
            documents: Each a file path, an http(s) URL (fetched through the engine's HTTP client,
                so the server's network guard applies) or the parsed document; their operations
                are checked together (HubSpot publishes one document per object).
            names: How the report names each document (its file name by default).
            team: The team asking.

        Returns:
            The report: findings, the findings the definition accepts (`verified_against`), notes.

        Raises:
            IntegrationNotFound: No such integration.
            InvalidDefinition: A document cannot be read or is not OpenAPI (the problem is named).
            InvalidInput: No document was given.
        """
        from plughub.engine.openapi.verify import read_vendor_document, verify_definition

        if not documents:
            raise InvalidInput("give at least one OpenAPI document to verify against")
        spec = self._catalog.find(id_or_name, team)
        labels = list(names or []) + [None] * (len(documents) - len(names or []))
        try:
            vendors = [
                read_vendor_document(source, name=label, fetch=self._fetch_document)
                for source, label in zip(documents, labels, strict=True)
            ]
        except CatalogError as exc:
            raise InvalidDefinition(exc.message) from None
        return verify_definition(spec, vendors)

    def _fetch_document(self, url: str) -> bytes:
        response = self._http.client.get(url, follow_redirects=True)
        response.raise_for_status()
        content: bytes = response.content
        return content

    @staticmethod
    def _read_definition(definition: Mapping[str, Any] | str | Path) -> tuple[Any, str]:
        if isinstance(definition, Mapping):
            return dict(definition), "<definition>"
        import yaml  # only for a definition given as a file (see loader._loader)

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
