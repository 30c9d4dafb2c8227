"""The set of known integrations: bundled, from `PLUGHUB_CATALOG_PATH`, and user-created."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from plughub.engine.catalog.describe import describe_integration
from plughub.engine.catalog.loader import bundled_specs, load_directory
from plughub.engine.catalog.models import IntegrationSpec
from plughub.exceptions import CatalogError, IntegrationNotFound
from plughub.schemas import IntegrationInfo

__all__ = ["Catalog"]


class Catalog:
    """Integrations by id, searchable.

    Later sources override earlier ones: bundled, then each `PLUGHUB_CATALOG_PATH` directory in
    order, then definitions created through the SDK.

    Args:
        paths: Extra directories of definition files.
    """

    def __init__(self, paths: Iterable[Path] = ()) -> None:
        self._specs: dict[str, IntegrationSpec] = dict(bundled_specs())
        self._sources: dict[str, str] = dict.fromkeys(self._specs, "bundled")
        for directory in paths:
            if not directory.is_dir():
                raise CatalogError(f"{directory}: PLUGHUB_CATALOG_PATH names a directory that does not exist")
            for key, (spec, path) in load_directory(directory).items():
                self._specs[key] = spec
                self._sources[key] = str(path)
        self._infos: dict[str, IntegrationInfo] = {}

    def add(self, spec: IntegrationSpec, source: str = "user") -> None:
        """Register a definition.

        Args:
            spec: The validated definition.
            source: Where it came from, shown by `IntegrationInfo.source`.
        """
        self._specs[spec.id] = spec
        self._sources[spec.id] = source
        self._infos.pop(spec.id, None)

    def remove(self, integration_id: str) -> None:
        """Forget a definition (used to undo an `add` whose storage failed).

        Args:
            integration_id: The id to forget.
        """
        self._specs.pop(integration_id, None)
        self._sources.pop(integration_id, None)
        self._infos.pop(integration_id, None)

    def __contains__(self, integration_id: object) -> bool:
        return integration_id in self._specs

    def __len__(self) -> int:
        return len(self._specs)

    def spec(self, integration_id: str) -> IntegrationSpec:
        """Return the definition of an integration.

        Args:
            integration_id: Its id.

        Returns:
            The definition.

        Raises:
            IntegrationNotFound: No integration has this id.
        """
        try:
            return self._specs[integration_id]
        except KeyError:
            raise IntegrationNotFound(
                f"No integration with id '{integration_id}'. "
                "List them with IntegrationFactory.list() or `plughub integrations list`."
            ) from None

    def info(self, integration_id: str) -> IntegrationInfo:
        """Return the public description of an integration.

        Args:
            integration_id: Its id.

        Returns:
            The description.

        Raises:
            IntegrationNotFound: No integration has this id.
        """
        info = self._infos.get(integration_id)
        if info is None:
            spec = self.spec(integration_id)
            info = describe_integration(spec, source=self._sources[integration_id])
            self._infos[integration_id] = info
        return info

    def find(self, id_or_name: str) -> IntegrationSpec:
        """Find an integration by id, else by display name (case-insensitive).

        Args:
            id_or_name: An id such as `github` or a name such as `GitHub`.

        Returns:
            The definition.

        Raises:
            IntegrationNotFound: Nothing matches.
        """
        if id_or_name in self._specs:
            return self._specs[id_or_name]
        wanted = id_or_name.strip().casefold()
        for spec in self._specs.values():
            if spec.display_name.casefold() == wanted:
                return spec
        raise IntegrationNotFound(
            f"No integration with id or name '{id_or_name}'. "
            "List them with IntegrationFactory.list() or `plughub integrations list`."
        )

    def search(self, query: str | None = None) -> list[IntegrationInfo]:
        """Search integrations by id, name, description, category and supplier.

        Args:
            query: Words that must all appear (case-insensitive); None lists everything.

        Returns:
            Matches, best first: id or name matches before description matches, then by name.
        """
        words = (query or "").casefold().split()
        ranked: list[tuple[int, str, str]] = []
        for key, spec in self._specs.items():
            title = f"{spec.id} {spec.display_name}".casefold()
            text = " ".join([title, spec.description, " ".join(spec.categories), spec.supplier or ""]).casefold()
            if all(w in text for w in words):
                rank = 0 if words and all(w in title for w in words) else 1
                ranked.append((rank, spec.display_name.casefold(), key))
        ranked.sort()
        return [self.info(key) for _rank, _name, key in ranked]
