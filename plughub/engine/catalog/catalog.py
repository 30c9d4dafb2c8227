"""The set of known integrations: bundled, from `PLUGHUB_CATALOG_PATH`, and each team's own."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from plughub.engine.catalog.describe import describe_integration
from plughub.engine.catalog.loader import bundled_specs, load_directory
from plughub.engine.catalog.models import IntegrationSpec
from plughub.exceptions import CatalogError, IntegrationNotFound
from plughub.schemas import IntegrationInfo

__all__ = ["Catalog"]

_NOT_FOUND = "List them with IntegrationFactory.list() or `plughub integrations list`."


class Catalog:
    """Integrations by id, searchable.

    The shared catalog is the bundled definitions, overridden by each `PLUGHUB_CATALOG_PATH`
    directory in order. On top of it, each team sees the definitions it created; no team sees
    another's.

    Args:
        paths: Extra directories of definition files.
    """

    def __init__(self, paths: Iterable[Path] = ()) -> None:
        self._shared: dict[str, IntegrationSpec] = dict(bundled_specs())
        self._sources: dict[str, str] = dict.fromkeys(self._shared, "bundled")
        for directory in paths:
            if not directory.is_dir():
                raise CatalogError(f"{directory}: PLUGHUB_CATALOG_PATH names a directory that does not exist")
            for key, (spec, path) in load_directory(directory).items():
                self._shared[key] = spec
                self._sources[key] = str(path)
        self._teams: dict[str, dict[str, IntegrationSpec]] = {}
        self._infos: dict[tuple[str | None, str], IntegrationInfo] = {}

    def __len__(self) -> int:
        return len(self._shared)

    def add(self, spec: IntegrationSpec, team: str) -> None:
        """Register a team's definition.

        Args:
            spec: The validated definition.
            team: The team that created it.
        """
        self._teams.setdefault(team, {})[spec.id] = spec
        self._infos.pop((team, spec.id), None)

    def _visible(self, team: str | None) -> dict[str, IntegrationSpec]:
        own = self._teams.get(team, {}) if team is not None else {}
        return {**self._shared, **own} if own else self._shared

    def contains(self, integration_id: str, team: str | None = None) -> bool:
        """Whether a team (or the shared catalog, for None) knows an integration."""
        return integration_id in self._visible(team)

    def source(self, integration_id: str, team: str | None = None) -> str:
        """Where a definition comes from: `bundled`, a file path, or `user`."""
        if team is not None and integration_id in self._teams.get(team, {}):
            return "user"
        return self._sources.get(integration_id, "user")

    def spec(self, integration_id: str, team: str | None = None) -> IntegrationSpec:
        """Return the definition of an integration.

        Args:
            integration_id: Its id.
            team: The team asking; its own definitions come first.

        Returns:
            The definition.

        Raises:
            IntegrationNotFound: No integration has this id.
        """
        try:
            return self._visible(team)[integration_id]
        except KeyError:
            raise IntegrationNotFound(f"No integration with id '{integration_id}'. {_NOT_FOUND}") from None

    def info(self, integration_id: str, team: str | None = None) -> IntegrationInfo:
        """Return the public description of an integration.

        Args:
            integration_id: Its id.
            team: The team asking.

        Returns:
            The description.

        Raises:
            IntegrationNotFound: No integration has this id.
        """
        owner = team if team is not None and integration_id in self._teams.get(team, {}) else None
        info = self._infos.get((owner, integration_id))
        if info is None:
            spec = self.spec(integration_id, team)
            info = describe_integration(spec, source=self.source(integration_id, team))
            self._infos[(owner, integration_id)] = info
        return info

    def find(self, id_or_name: str, team: str | None = None) -> IntegrationSpec:
        """Find an integration by id, else by display name (case-insensitive).

        Args:
            id_or_name: An id such as `github` or a name such as `GitHub`.
            team: The team asking.

        Returns:
            The definition.

        Raises:
            IntegrationNotFound: Nothing matches.
        """
        visible = self._visible(team)
        if id_or_name in visible:
            return visible[id_or_name]
        wanted = id_or_name.strip().casefold()
        for spec in visible.values():
            if spec.display_name.casefold() == wanted:
                return spec
        raise IntegrationNotFound(f"No integration with id or name '{id_or_name}'. {_NOT_FOUND}")

    def search(self, query: str | None = None, team: str | None = None) -> list[IntegrationInfo]:
        """Search integrations by id, name, description, category and supplier.

        Args:
            query: Words that must all appear (case-insensitive); None lists everything.
            team: The team asking.

        Returns:
            Matches, best first: id or name matches before description matches, then by name.
        """
        words = (query or "").casefold().split()
        ranked: list[tuple[int, str, str]] = []
        for key, spec in self._visible(team).items():
            title = f"{spec.id} {spec.display_name}".casefold()
            text = " ".join([title, spec.description, " ".join(spec.categories), spec.supplier or ""]).casefold()
            if all(w in text for w in words):
                rank = 0 if words and all(w in title for w in words) else 1
                ranked.append((rank, spec.display_name.casefold(), key))
        ranked.sort()
        return [self.info(key, team) for _rank, _name, key in ranked]
