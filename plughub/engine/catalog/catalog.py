"""The set of known integrations: bundled, from `PLUGHUB_CATALOG_PATH`, and each team's own."""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from plughub.engine.catalog.describe import describe_integration
from plughub.engine.catalog.loader import BUNDLED_DIR, load_directory, load_file
from plughub.engine.catalog.models import IntegrationSpec
from plughub.exceptions import CatalogError, IntegrationNotFound
from plughub.schemas import IntegrationInfo
from plughub.schemas.connections import INTEGRATION_ALIASES

__all__ = ["Catalog"]

_NOT_FOUND = "List them with IntegrationFactory.list() or `plughub integrations list`."
# Letters and digits: `google-calendar`, `GITHUB_CREATE_ISSUE` and "Google Calendar" split alike.
_WORD = re.compile(r"[^\W_]+")


def _words(*texts: str) -> tuple[str, ...]:
    """The distinct casefolded words of some texts, sorted (for prefix look-ups by bisection)."""
    return tuple(sorted({word for text in texts for word in _WORD.findall(text.casefold())}))


def _has_prefix(words: Sequence[str], prefix: str) -> bool:
    """Whether a word of a sorted sequence starts with `prefix`."""
    index = bisect_left(words, prefix)
    return index < len(words) and words[index].startswith(prefix)


@dataclass(frozen=True)
class _SearchEntry:
    """What the search compares a query with, for one integration."""

    id: str
    name: str
    title: tuple[str, ...]  # the words of the id and the name
    about: tuple[str, ...]  # the words of the description, categories and supplier
    actions: tuple[str, ...]  # the words of the actions' codes, names and descriptions

    @classmethod
    def of(cls, spec: IntegrationSpec) -> _SearchEntry:
        return cls(
            id=spec.id.casefold(),
            name=" ".join(spec.display_name.casefold().split()),
            title=_words(spec.id, spec.display_name),
            about=_words(spec.description, *spec.categories, spec.supplier or ""),
            actions=_words(*(f"{code} {a.display_name} {a.description}" for code, a in spec.actions.items())),
        )

    def rank(self, query: str, words: Sequence[str]) -> int | None:
        """How well a query matches; lower is better, None is no match.

        0: the exact id or name; 1: the id or name starts with the query; then every word starts
        a word of 2: the id and name, 3: those or the description, 4: those or the actions.
        """
        if query in (self.id, self.name):
            return 0
        if self.id.startswith(query) or self.name.startswith(query):
            return 1
        worst: int | None = None
        for word in words:
            groups = (self.title, self.about, self.actions)
            tier = next((t for t, group in enumerate(groups, 2) if _has_prefix(group, word)), None)
            if tier is None:
                return None
            worst = tier if worst is None else max(worst, tier)
        return worst  # None for a query with no word at all (only punctuation)


class Catalog:
    """Integrations by id, searchable.

    The shared catalog is the bundled definitions, overridden by each `PLUGHUB_CATALOG_PATH`
    directory in order. Bundled files are parsed lazily, one integration at a time, when first
    asked for (a listing or search reads them all once). On top of the shared catalog, each team
    sees the definitions it created; no team sees another's.

    Args:
        paths: Extra directories of definition files.
        missing: Looks up a team's definition this catalog does not hold (one another server process
            stored); returns it, or None.
    """

    def __init__(
        self,
        paths: Iterable[Path] = (),
        missing: Callable[[str, str], IntegrationSpec | None] | None = None,
    ) -> None:
        self._missing = missing
        # The file name is the id (the loader enforces it), so ids are known without parsing.
        self._bundled_paths = {p.stem: p for p in sorted(BUNDLED_DIR.glob("*.yaml"))}
        self._bundled: dict[str, IntegrationSpec] = {}
        self._overrides: dict[str, IntegrationSpec] = {}
        self._sources: dict[str, str] = {}
        for directory in paths:
            if not directory.is_dir():
                raise CatalogError(f"{directory}: PLUGHUB_CATALOG_PATH names a directory that does not exist")
            for key, (spec, path) in load_directory(directory).items():
                self._overrides[key] = spec
                self._sources[key] = str(path)
        self._teams: dict[str, dict[str, IntegrationSpec]] = {}
        self._infos: dict[tuple[str | None, str], IntegrationInfo] = {}
        self._entries: dict[tuple[str | None, str], _SearchEntry] = {}

    def __len__(self) -> int:
        return len(self._bundled_paths.keys() | self._overrides.keys())

    def add(self, spec: IntegrationSpec, team: str) -> None:
        """Register a team's definition.

        Args:
            spec: The validated definition.
            team: The team that created it.
        """
        self._teams.setdefault(team, {})[spec.id] = spec
        self._infos.pop((team, spec.id), None)
        self._entries.pop((team, spec.id), None)

    def _shared(self, integration_id: str) -> IntegrationSpec | None:
        if integration_id in self._overrides:
            return self._overrides[integration_id]
        if integration_id not in self._bundled and integration_id in self._bundled_paths:
            self._bundled[integration_id] = load_file(self._bundled_paths[integration_id], trusted=True)
        return self._bundled.get(integration_id)

    def _lookup(self, integration_id: str, team: str | None) -> IntegrationSpec | None:
        own = self._teams.get(team, {}) if team is not None else {}
        found = own.get(integration_id) or self._shared(integration_id)
        if found is None and team is not None and self._missing is not None:
            found = self._missing(team, integration_id)
            if found is not None:
                self.add(found, team)
        return found

    def ids(self, team: str | None = None) -> list[str]:
        """Every id a team (or the shared catalog, for None) sees, sorted."""
        own = self._teams.get(team, {}).keys() if team is not None else set()
        return sorted(self._bundled_paths.keys() | self._overrides.keys() | own)

    def contains(self, integration_id: str, team: str | None = None) -> bool:
        """Whether a team (or the shared catalog, for None) knows an integration."""
        own = self._teams.get(team, {}) if team is not None else {}
        if integration_id in own or integration_id in self._overrides or integration_id in self._bundled_paths:
            return True
        return team is not None and self._lookup(integration_id, team) is not None

    def source(self, integration_id: str, team: str | None = None) -> str:
        """Where a definition comes from: `bundled`, a file path, or `user`."""
        integration_id = INTEGRATION_ALIASES.get(integration_id, integration_id)
        if team is not None and integration_id in self._teams.get(team, {}):
            return "user"
        if integration_id in self._sources:
            return self._sources[integration_id]
        return "bundled" if integration_id in self._bundled_paths else "user"

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
        found = self._lookup(INTEGRATION_ALIASES.get(integration_id, integration_id), team)
        if found is None:
            raise self._not_found(integration_id, team, "id")
        return found

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
        integration_id = INTEGRATION_ALIASES.get(integration_id, integration_id)
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
        found = self._lookup(INTEGRATION_ALIASES.get(id_or_name, id_or_name), team)
        if found is not None:
            return found
        wanted = id_or_name.strip().casefold()
        for key in self.ids(team):
            spec = self.spec(key, team)
            if spec.display_name.casefold() == wanted:
                return spec
        raise self._not_found(id_or_name, team, "id or name")

    def _not_found(self, asked: str, team: str | None, what: str) -> IntegrationNotFound:
        """The error for an unknown integration, with the ids closest to what was asked for."""
        import difflib  # only an unknown id pays for it

        close = difflib.get_close_matches(asked.strip().casefold(), self.ids(team), n=3, cutoff=0.75)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        return IntegrationNotFound(
            f"No integration with {what} '{asked}'.{hint} {_NOT_FOUND}",
            details={"id": asked, "did_you_mean": close},
        )

    def categories(self, team: str | None = None) -> dict[str, int]:
        """Every category with how many integrations are in it.

        Args:
            team: The team asking.

        Returns:
            Counts by category, sorted by name.
        """
        counts: dict[str, int] = {}
        for key in self.ids(team):
            for category in self.spec(key, team).categories:
                counts[category] = counts.get(category, 0) + 1
        return dict(sorted(counts.items()))

    def search(
        self, query: str | None = None, team: str | None = None, category: str | None = None
    ) -> list[IntegrationInfo]:
        """Search integrations by words.

        A query word matches the start of a word (`git` finds GitHub and "Git repositories", not
        DigitalOcean or "longitude") in the id, name, description, categories, supplier, or the
        codes, names and descriptions of the actions; every query word must match.

        Args:
            query: Words that must all match (case-insensitive); None or blank lists everything.
            team: The team asking.
            category: Only integrations in this category.

        Returns:
            Matches, best first: the exact id or name, then ids and names that start with the
            query, then those whose id and name hold every word, then the descriptions, then the
            actions; by name within each.
        """
        text = " ".join((query or "").casefold().split())
        words = _WORD.findall(text)
        ranked: list[tuple[int, str, str]] = []
        for key in self.ids(team):
            spec = self.spec(key, team)
            if category and category.casefold() not in (c.casefold() for c in spec.categories):
                continue
            rank = self._entry(key, spec, team).rank(text, words) if text else 0
            if rank is not None:
                ranked.append((rank, spec.display_name.casefold(), key))
        ranked.sort()
        return [self.info(key, team) for _rank, _name, key in ranked]

    def _entry(self, key: str, spec: IntegrationSpec, team: str | None) -> _SearchEntry:
        owner = team if team is not None and key in self._teams.get(team, {}) else None
        entry = self._entries.get((owner, key))
        if entry is None:
            entry = self._entries[(owner, key)] = _SearchEntry.of(spec)
        return entry
