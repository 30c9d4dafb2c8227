"""The bundled catalog declares the pagination its vendors use, and the declarations read real pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest

from plughub import AuthenticationSchema, ConnectionTool, IntegrationFactory, ModelFactory
from plughub.engine.catalog import bundled_specs
from tests.upstream import Reply, Seen, Upstream

# Actions with a paging input that declare no pagination, and why.
UNDECLARED = {
    "ALGOLIA_LIST_INDICES": "without `page` the API answers every index at once; a page number would repeat them",
    "CONFLUENCE_SEARCH": "the v1 search's next link is relative to _links.base, not to the request",
    "DATADOG_LIST_MONITORS": "without `page` the API answers every monitor at once",
    "DISCOURSE_SEARCH": "results come in several lists (posts, topics, users)",
    "MASTODON_SEARCH": "results come in several lists (accounts, statuses, hashtags)",
    "SPOTIFY_SEARCH": "results come in one list per type",
    "SMARTSHEET_GET_SHEET": "one sheet whose rows are paged, not a list",
    "SNYK_LIST_ORGS": "the cursor is inside links.next, whose base path the API does not document",
    "SNYK_LIST_PROJECTS": "the cursor is inside links.next, whose base path the API does not document",
    "SNYK_LIST_ORG_ISSUES": "the cursor is inside links.next, whose base path the API does not document",
    "SNYK_LIST_TARGETS": "the cursor is inside links.next, whose base path the API does not document",
    "TYPEFORM_LIST_RESPONSES": "`after`/`before` depend on the sort order the caller chooses",
    "USGS_EARTHQUAKES_SEARCH_EVENTS": "the offset is 1-based",
    "MAILGUN_LIST_EVENTS": "the next link is always present, also after the last page",
}
PAGING_INPUTS = {
    "cursor",
    "after",
    "starting_after",
    "pageToken",
    "page_token",
    "start_cursor",
    "continuation",
    "nextPageToken",
    "next_page_token",
    "page_after",
    "page_cursor",
    "page",
    "page_number",
    "offset",
    "skip",
}


def test_every_action_with_a_paging_input_declares_pagination_or_says_why_not() -> None:
    missing = []
    for spec in bundled_specs().values():
        for code, action in spec.actions.items():
            paging = {name for name in action.inputs if name in PAGING_INPUTS}
            if action.method in ("GET", "POST") and paging and action.pagination is None and code not in UNDECLARED:
                missing.append(f"{code} ({', '.join(sorted(paging))})")
    # Some inputs named like paging ones are not (a UTC offset, a time window, a note's start time).
    not_paging = {"NAGER_DATE_IS_TODAY_PUBLIC_HOLIDAY (offset)", "SPOTIFY_START_PLAYBACK (offset)"}
    not_paging |= {"NOTION_APPEND_BLOCK_CHILDREN (after)"}
    assert sorted(set(missing) - not_paging) == []


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("GITHUB_LIST_REPOSITORY_ISSUES", {"type": "link", "items": ""}),
        ("GITLAB_LIST_PROJECTS", {"type": "link", "items": ""}),
        (
            "SLACK_LIST_USERS",
            {
                "type": "cursor",
                "items": "/members",
                "cursor_input": "cursor",
                "next_cursor": "/response_metadata/next_cursor",
            },
        ),
        (
            "STRIPE_LIST_CUSTOMERS",
            {
                "type": "cursor",
                "items": "/data",
                "cursor_input": "starting_after",
                "item_cursor": "/id",
                "has_more": "/has_more",
            },
        ),
        (
            "HUBSPOT_LIST_CONTACTS",
            {"type": "cursor", "items": "/results", "cursor_input": "after", "next_cursor": "/paging/next/after"},
        ),
        (
            "NOTION_QUERY_DATABASE",
            {
                "type": "cursor",
                "items": "/results",
                "cursor_input": "start_cursor",
                "next_cursor": "/next_cursor",
                "has_more": "/has_more",
            },
        ),
    ],
)
def test_the_vendors_pagination(code: str, expected: dict[str, Any]) -> None:
    integration = code.split("_")[0].lower()
    action = bundled_specs()[integration].actions[code]
    assert action.pagination is not None
    assert action.pagination.model_dump(exclude_none=True) == expected


def _slack(upstream: Upstream) -> None:
    members = [{"id": f"U{n}"} for n in range(5)]

    def handler(seen: Seen) -> Reply:
        start = int(dict(seen.query).get("cursor") or 0)
        following = str(start + 2) if start + 2 < len(members) else ""
        return Reply(
            200, {"ok": True, "members": members[start : start + 2], "response_metadata": {"next_cursor": following}}
        )

    upstream.route("GET", "/users.list", handler)


def _github(upstream: Upstream) -> None:
    issues = [{"number": n} for n in range(5)]

    def handler(seen: Seen) -> Reply:
        page = int(dict(seen.query).get("page", 1))
        headers = {}
        if page * 2 < len(issues):
            headers["Link"] = f'<{upstream.url}/repos/o/r/issues?{urlencode({"page": page + 1})}>; rel="next"'
        return Reply(200, issues[(page - 1) * 2 : page * 2], headers)

    upstream.route("GET", "/repos/o/r/issues", handler)


def _stripe(upstream: Upstream) -> None:
    customers = [{"id": f"cus_{n}"} for n in range(5)]

    def handler(seen: Seen) -> Reply:
        after = dict(seen.query).get("starting_after")
        start = next(i + 1 for i, c in enumerate(customers) if c["id"] == after) if after else 0
        return Reply(
            200, {"object": "list", "data": customers[start : start + 2], "has_more": start + 2 < len(customers)}
        )

    upstream.route("GET", "/customers", handler)


CASES: dict[str, tuple[Callable[[Upstream], None], AuthenticationSchema, dict[str, Any], str, dict[str, Any], str]] = {
    "slack": (_slack, AuthenticationSchema.BEARER_TOKEN, {"token": "xoxb-1-2-abc"}, "SLACK_LIST_USERS", {}, "id"),
    "github": (
        _github,
        AuthenticationSchema.BEARER_TOKEN,
        {"token": "ghp_abc"},
        "GITHUB_LIST_REPOSITORY_ISSUES",
        {"owner": "o", "repo": "r"},
        "number",
    ),
    "stripe": (_stripe, AuthenticationSchema.API_KEY, {"api_key": "sk_test_abc"}, "STRIPE_LIST_CUSTOMERS", {}, "id"),
}


@pytest.mark.usefixtures("backend")
@pytest.mark.parametrize("integration", sorted(CASES))
def test_the_bundled_declarations_read_every_page(upstream: Upstream, integration: str) -> None:
    serve, scheme, credentials, code, inputs, key = CASES[integration]
    serve(upstream)
    connected = IntegrationFactory.get(integration).connect(scheme, data={**credentials, "base_url": upstream.url})
    tool = ModelFactory.get(connected.data["id"])
    assert isinstance(tool, ConnectionTool)
    items = list(tool.iterate(code, inputs))
    assert len(items) == 5 and len({item[key] for item in items}) == 5
    assert len(upstream.seen) == 3
