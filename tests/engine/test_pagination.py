"""Pagination (DESIGN.md §9) over real sockets, on both backends: iterate, run(paginate=True), failures."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest

from plughub import AuthenticationSchema, ConnectionTool, IntegrationFactory, ModelFactory, ResponseStatus
from plughub.backends import get_backend
from plughub.engine.catalog import parse_definition
from plughub.exceptions import CatalogError, InvalidInput, UpstreamError, UpstreamRedirect, UpstreamStatusError
from tests.conftest import CANARY_TOKEN
from tests.upstream import Reply, Seen, Upstream

pytestmark = pytest.mark.usefixtures("any_backend")

ITEMS = [{"id": f"it_{n}", "n": n} for n in range(1, 8)]  # 7 items: pages of 3, 3 and 1


def _definition(base_url: str, action: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "id": "pages-api",
        "display_name": "Pages API",
        "base_url": base_url,
        "auth": [{"mode": "BEARER_TOKEN"}],
        "actions": {"PAGES_API_LIST": {"display_name": "List", "method": "GET", "path": "/items", **action}},
        **extra,
    }


def _connect(definition: dict[str, Any]) -> ConnectionTool:
    integration = IntegrationFactory.create(definition)
    response = integration.connect(AuthenticationSchema.BEARER_TOKEN, data={"token": CANARY_TOKEN})
    tool = ModelFactory.get(response.data["id"])
    assert isinstance(tool, ConnectionTool)
    return tool


def _query(seen: Seen) -> dict[str, str]:
    return dict(seen.query)


def _item_requests(upstream: Upstream) -> list[Seen]:
    return [s for s in upstream.seen if s.path == "/items"]


# The five kinds, each serving ITEMS in pages of 3


def _by_link(upstream: Upstream) -> dict[str, Any]:
    def handler(seen: Seen) -> Reply:
        page = int(_query(seen).get("page", "1"))
        chunk = ITEMS[(page - 1) * 3 : page * 3]
        headers = {}
        if page * 3 < len(ITEMS):
            query = urlencode({**_query(seen), "page": page + 1})
            headers["Link"] = f'<{upstream.url}/items?{query}>; rel="next", <{upstream.url}/items?page=3>; rel="last"'
        return Reply(200, chunk, headers)

    upstream.route("GET", "/items", handler)
    return {"inputs": {"state": {"type": "string"}}, "pagination": {"type": "link"}}


def _by_cursor(upstream: Upstream) -> dict[str, Any]:
    def handler(seen: Seen) -> Reply:
        start = int(_query(seen).get("cursor") or 0)
        chunk = ITEMS[start : start + 3]
        after = str(start + 3) if start + 3 < len(ITEMS) else ""
        return Reply(200, {"ok": True, "members": chunk, "response_metadata": {"next_cursor": after}})

    upstream.route("GET", "/items", handler)
    return {
        "inputs": {"cursor": {"type": "string"}, "state": {"type": "string"}},
        "pagination": {
            "type": "cursor",
            "items": "/members",
            "cursor_input": "cursor",
            "next_cursor": "/response_metadata/next_cursor",
        },
    }


def _by_last_item(upstream: Upstream) -> dict[str, Any]:
    # Stripe: `starting_after` is the last item's id; `has_more` says whether to go on.
    def handler(seen: Seen) -> Reply:
        after = _query(seen).get("starting_after")
        start = next(i + 1 for i, item in enumerate(ITEMS) if item["id"] == after) if after else 0
        chunk = ITEMS[start : start + 3]
        return Reply(200, {"object": "list", "data": chunk, "has_more": start + 3 < len(ITEMS)})

    upstream.route("GET", "/items", handler)
    return {
        "inputs": {"starting_after": {"type": "string"}, "state": {"type": "string"}},
        "pagination": {
            "type": "cursor",
            "items": "/data",
            "cursor_input": "starting_after",
            "item_cursor": "/id",
            "has_more": "/has_more",
        },
    }


def _by_offset(upstream: Upstream) -> dict[str, Any]:
    def handler(seen: Seen) -> Reply:
        query = _query(seen)
        offset, limit = int(query.get("offset", 0)), int(query["limit"])
        return Reply(200, {"results": ITEMS[offset : offset + limit]})

    upstream.route("GET", "/items", handler)
    return {
        "inputs": {"offset": {"type": "integer"}, "limit": {"type": "integer"}, "state": {"type": "string"}},
        "pagination": {
            "type": "offset",
            "items": "/results",
            "offset_input": "offset",
            "limit_input": "limit",
            "page_size": 3,
        },
    }


def _by_page(upstream: Upstream) -> dict[str, Any]:
    # No page size known: the empty page after the last one ends it.
    def handler(seen: Seen) -> Reply:
        page = int(_query(seen).get("p", 1))
        return Reply(200, {"items": ITEMS[(page - 1) * 3 : page * 3]})

    upstream.route("GET", "/items", handler)
    return {
        "inputs": {"p": {"type": "integer"}, "state": {"type": "string"}},
        "pagination": {"type": "page", "items": "/items", "page_input": "p"},
    }


def _by_next_url(upstream: Upstream) -> dict[str, Any]:
    def handler(seen: Seen) -> Reply:
        page = int(_query(seen).get("page", 1))
        following = f"/items?{urlencode({**_query(seen), 'page': page + 1})}" if page * 3 < len(ITEMS) else None
        return Reply(200, {"data": ITEMS[(page - 1) * 3 : page * 3], "paging": {"next": following}})

    upstream.route("GET", "/items", handler)
    return {
        "inputs": {"state": {"type": "string"}},
        "pagination": {"type": "next_url", "items": "/data", "next_url": "/paging/next"},
    }


KINDS = {
    "link": (_by_link, 3),
    "cursor": (_by_cursor, 3),
    "last_item": (_by_last_item, 3),
    "offset": (_by_offset, 3),
    "page": (_by_page, 4),  # the fourth page is the empty one
    "next_url": (_by_next_url, 3),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_iterate_reads_every_page_with_the_connections_credentials(upstream: Upstream, kind: str) -> None:
    serve, requests = KINDS[kind]
    tool = _connect(_definition(upstream.url, serve(upstream)))
    assert list(tool.iterate("PAGES_API_LIST", {"state": "open"})) == ITEMS
    sent = _item_requests(upstream)
    assert len(sent) == requests
    for seen in sent:
        assert seen.header("Authorization") == f"Bearer {CANARY_TOKEN}"
        assert _query(seen)["state"] == "open"  # the caller's inputs go with every page


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_run_with_paginate_returns_every_item(upstream: Upstream, kind: str) -> None:
    serve, requests = KINDS[kind]
    tool = _connect(_definition(upstream.url, serve(upstream)))
    response = tool.run("PAGES_API_LIST", {}, paginate=True)
    assert response.status is ResponseStatus.SUCCESS, response.error_message
    assert response.data == ITEMS
    assert response.details["pages"] == requests
    assert response.details["truncated"] is False
    assert "next_page_token" not in response.details


def test_max_items_stops_without_fetching_more_pages(upstream: Upstream) -> None:
    tool = _connect(_definition(upstream.url, _by_cursor(upstream)))
    assert list(tool.iterate("PAGES_API_LIST", max_items=2)) == ITEMS[:2]
    assert len(_item_requests(upstream)) == 1
    assert list(tool.iterate("PAGES_API_LIST", max_items=4)) == ITEMS[:4]
    assert len(_item_requests(upstream)) == 1 + 2
    # Lazily: nothing is asked before the first item is wanted, and each page only when reached.
    items: Iterator[Any] = tool.iterate("PAGES_API_LIST")
    assert len(_item_requests(upstream)) == 3
    next(items)
    assert len(_item_requests(upstream)) == 4
    items.close()


def test_max_pages_truncates_and_the_token_goes_on(upstream: Upstream) -> None:
    tool = _connect(_definition(upstream.url, _by_link(upstream)))
    assert list(tool.iterate("PAGES_API_LIST", max_pages=2)) == ITEMS[:6]
    first = tool.run("PAGES_API_LIST", {}, paginate=True, max_pages=2)
    assert first.data == ITEMS[:6]
    assert first.details["pages"] == 2 and first.details["truncated"] is True
    token = first.details["next_page_token"]
    assert upstream.url not in token and "page" not in token  # sealed: the next link cannot be read
    rest = get_backend().run_action(tool.id, "PAGES_API_LIST", {}, paginate=True, page_token=token)
    assert rest.data == ITEMS[6:]
    assert rest.details == {"pages": 1, "truncated": False}


def test_a_page_token_that_plughub_did_not_give_is_refused(upstream: Upstream) -> None:
    tool = _connect(_definition(upstream.url, _by_link(upstream)))
    token = tool.run("PAGES_API_LIST", {}, paginate=True, max_pages=1).details["next_page_token"]
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    before = len(upstream.seen)
    for bad in (forged, "not-a-token", token + "x"):
        with pytest.raises(InvalidInput, match="page_token is not a page token plughub gave"):
            get_backend().run_action(tool.id, "PAGES_API_LIST", {}, paginate=True, page_token=bad)
    assert len(upstream.seen) == before


def test_a_next_link_to_another_origin_ends_with_an_error(upstream: Upstream) -> None:
    elsewhere = Upstream()  # another port on 127.0.0.1: another origin
    try:
        elsewhere.route("GET", "/items", Reply(200, ITEMS[3:]))
        upstream.route("GET", "/items", Reply(200, ITEMS[:3], {"Link": f'<{elsewhere.url}/items?page=2>; rel="next"'}))
        tool = _connect(_definition(upstream.url, {"pagination": {"type": "link"}}))
        received: list[Any] = []
        with pytest.raises(UpstreamRedirect, match=r"next page's link points to another host"):
            received.extend(tool.iterate("PAGES_API_LIST"))
        assert received == ITEMS[:3]  # the first page's items came before the error
        response = tool.run("PAGES_API_LIST", {}, paginate=True)
        assert response.status is ResponseStatus.FAILED
        assert response.error_code == "upstream_redirect"
        assert response.details["pages"] == 1
        assert elsewhere.seen == []  # credentials never left the origin
    finally:
        elsewhere.close()


def test_a_failing_page_ends_the_iteration_with_its_error(upstream: Upstream) -> None:
    def handler(seen: Seen) -> Reply:
        if _query(seen).get("cursor"):
            return Reply(500, {"message": "boom"})
        return Reply(200, {"members": ITEMS[:3], "response_metadata": {"next_cursor": "3"}})

    action = _by_cursor(upstream)
    upstream.route("GET", "/items", handler)
    tool = _connect(_definition(upstream.url, action))
    received: list[Any] = []
    with pytest.raises(UpstreamStatusError, match="500"):
        received.extend(tool.iterate("PAGES_API_LIST"))
    assert received == ITEMS[:3]
    response = tool.run("PAGES_API_LIST", {}, paginate=True)
    assert response.status is ResponseStatus.FAILED
    assert response.error_code == "upstream_status"
    assert response.details["pages"] == 1 and response.details["truncated"] is True
    assert len(_item_requests(upstream)) == 2 * 2  # GET requests are retried only on 429/502/503/504


def test_response_rules_judge_every_page(upstream: Upstream) -> None:
    def handler(seen: Seen) -> Reply:
        if _query(seen).get("cursor"):
            return Reply(200, {"ok": False, "error": "ratelimited"})
        return Reply(200, {"ok": True, "members": ITEMS[:3], "response_metadata": {"next_cursor": "3"}})

    action = _by_cursor(upstream)
    upstream.route("GET", "/items", handler)
    rules = {"error_when": {"pointer": "/ok", "equals": False}, "error_message": "/error"}
    tool = _connect(_definition(upstream.url, action, response=rules))
    with pytest.raises(UpstreamError, match="ratelimited"):
        list(tool.iterate("PAGES_API_LIST"))


def test_an_action_without_pagination_is_refused(upstream: Upstream) -> None:
    tool = _connect(_definition(upstream.url, {}))
    with pytest.raises(InvalidInput, match="PAGES_API_LIST does not declare pagination; run it without paginate"):
        tool.run("PAGES_API_LIST", {}, paginate=True)
    with pytest.raises(InvalidInput, match="does not declare pagination"):
        list(tool.iterate("PAGES_API_LIST"))
    with pytest.raises(InvalidInput, match="max_items must be a positive whole number"):
        list(tool.iterate("PAGES_API_LIST", max_items=0))
    with pytest.raises(InvalidInput, match="max_pages must be a positive whole number"):
        tool.run("PAGES_API_LIST", {}, paginate=True, max_pages=0)
    assert upstream.seen == []


def test_the_action_description_says_how_it_pages(upstream: Upstream) -> None:
    tool = _connect(_definition(upstream.url, _by_cursor(upstream)))
    assert get_backend().get_action(tool.id, "PAGES_API_LIST").pagination == "cursor"


@pytest.mark.parametrize(
    ("pagination", "problem"),
    [
        (
            {"type": "cursor", "cursor_input": "after", "next_cursor": "/next"},
            "actions.PAGES_API_LIST.pagination.cursor_input: 'after' is not an input of the action (inputs: cursor)",
        ),
        (
            {"type": "cursor", "cursor_input": "cursor"},
            "actions.PAGES_API_LIST.pagination: Value error, give exactly one of next_cursor",
        ),
        ({"type": "cursor", "cursor_input": "cursor", "next_cursor": "next"}, "'next' is not a JSON pointer"),
        ({"type": "pages"}, "actions.PAGES_API_LIST.pagination: Input tag 'pages' found using 'type'"),
        ({"type": "link", "next_url": "/next"}, "actions.PAGES_API_LIST.pagination.next_url: Extra inputs"),
        ({"type": "offset", "offset_input": "cursor", "page_size": 0}, "pagination.page_size: Input should be"),
    ],
)
def test_a_bad_pagination_is_a_load_error_naming_the_key(pagination: dict[str, Any], problem: str) -> None:
    action = {"inputs": {"cursor": {"type": "string"}}, "pagination": pagination}
    with pytest.raises(CatalogError) as caught:
        parse_definition(_definition("https://pages.example", action), source="pages.yaml")
    assert problem in caught.value.message


def test_a_next_link_marked_without_results_or_pointing_at_the_same_page_ends_it(upstream: Upstream) -> None:
    # Sentry sends rel="next" on its last page too, with results="false".
    def handler(seen: Seen) -> Reply:
        cursor = int(_query(seen).get("cursor", "0"))
        results = "true" if cursor == 0 else "false"
        link = f'<{upstream.url}/items?cursor={cursor + 1}>; rel="next"; results="{results}"; cursor="{cursor + 1}"'
        return Reply(200, [ITEMS[:3], ITEMS[3:]][cursor] if cursor < 2 else [], {"Link": link})

    upstream.route("GET", "/items", handler)
    tool = _connect(_definition(upstream.url, {"pagination": {"type": "link"}}))
    assert list(tool.iterate("PAGES_API_LIST")) == ITEMS
    assert len(_item_requests(upstream)) == 2
    upstream.route("GET", "/items", Reply(200, ITEMS[:3], {"Link": f'<{upstream.url}/items>; rel="next"'}))
    assert list(tool.iterate("PAGES_API_LIST")) == ITEMS[:3]
    assert len(_item_requests(upstream)) == 3
