"""The catalog search: whole-word prefixes, the id and name first (issue 14: `git` found
DigitalOcean first and matched "Longitude")."""

from __future__ import annotations

import pytest

from plughub.backends import Backend
from plughub.engine.catalog import Catalog
from plughub.factories import IntegrationFactory


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog()


def ids(catalog: Catalog, query: str | None, category: str | None = None) -> list[str]:
    return [i.id for i in catalog.search(query, category=category)]


def test_a_query_matches_the_start_of_words_only(catalog: Catalog) -> None:
    found = ids(catalog, "git")
    assert {"gitea", "github", "gitlab", "bitbucket"} <= set(found)  # bitbucket: "Git" in its description
    assert "digitalocean" not in found  # d-i-g-i-t
    assert "openweathermap" not in found  # longitude
    assert ids(catalog, "itude") == []
    assert "openweathermap" in ids(catalog, "longitude")  # a whole word still matches


def test_ids_and_names_that_start_with_the_query_come_first_by_name(catalog: Catalog) -> None:
    assert ids(catalog, "git")[:3] == ["gitea", "github", "gitlab"]
    assert ids(catalog, "google cal")[0] == "google-calendar"


@pytest.mark.parametrize("query", ["github", "GitHub", "  GITHUB ", "hacker-news", "Hacker News"])
def test_an_exact_id_or_name_comes_first(catalog: Catalog, query: str) -> None:
    assert ids(catalog, query)[0] == query.strip().lower().replace(" ", "-")


def test_name_words_come_before_descriptions_before_actions(catalog: Catalog) -> None:
    found = ids(catalog, "calendar")
    assert found[0] == "google-calendar"  # "Google Calendar": a word of the name
    zoom = catalog.spec("zoom")
    assert "calendar" in zoom.categories and "calendar" not in zoom.display_name.lower()
    assert found.index("google-calendar") < found.index("zoom")
    # GITHUB_CREATE_ISSUE_COMMENT: found through its action, after integrations that say it themselves
    by_action = ids(catalog, "comment issue")
    assert "github" in by_action
    described = [i for i in by_action if "comment" in catalog.spec(i).description.lower()]
    assert all(by_action.index(i) < by_action.index("github") for i in described)


def test_every_word_must_match(catalog: Catalog) -> None:
    assert ids(catalog, "github zzzz") == []
    assert "google-calendar" not in ids(catalog, "google sheets")


def test_blank_and_punctuation_queries(catalog: Catalog) -> None:
    assert len(ids(catalog, None)) == len(ids(catalog, "   ")) == len(catalog)
    assert ids(catalog, "---") == []


def test_category_filter_still_applies(catalog: Catalog) -> None:
    assert ids(catalog, "git", category="payments") == []
    assert ids(catalog, "pay", category="payments")[0] == "paypal"


def test_the_sdk_search_keeps_its_zero_based_pages(any_backend: Backend) -> None:
    first = IntegrationFactory.list(query="git", page_number=0, page_size=2)
    second = IntegrationFactory.list(query="git", page_number=1, page_size=2)
    assert [i.id for i in first["results"]] == ["gitea", "github"]
    assert second["page_number"] == 1 and second["results"][0].id == "gitlab"
    assert first["total"] == second["total"] and first["page_total"] == -(-first["total"] // 2)
