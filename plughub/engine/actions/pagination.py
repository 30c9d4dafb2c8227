"""Pagination: a page's items, and where the next page is (DESIGN.md §9).

Five kinds, as a definition's `pagination.type` says: `cursor` (the next cursor is in the answer,
or is the last item's id as with Stripe's `starting_after`), `offset`, `page`, `link` (RFC 8288
`Link: <...>; rel="next"`) and `next_url` (the next page's URL in the answer). The functions here
do no I/O: the actions service sends each page and asks them what comes next.

A next page's URL (`link`, `next_url`) must be on the origin of the first page's request:
credentials never leave it, so a link elsewhere ends the iteration with an error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from plughub.engine.catalog.models import (
    CursorPagination,
    LinkPagination,
    NextUrlPagination,
    OffsetPagination,
    PagePagination,
    PaginationSpec,
)
from plughub.engine.http.checks import same_origin
from plughub.engine.http.send import Answer
from plughub.engine.json_pointer import MISSING, resolve
from plughub.exceptions import ActionError, InvalidInput, UpstreamRedirect

__all__ = ["NextPage", "first_inputs", "next_link", "next_page", "page_items"]

# One Link value: `<target>` and its parameters, up to the next value.
_LINK_VALUE = re.compile(r"<([^>]*)>((?:\s*;\s*[^;,]*(?:\"[^\"]*\")?)*)")
_REL = re.compile(r";\s*rel\s*=\s*(?:\"([^\"]*)\"|([^\s;,]+))", re.IGNORECASE)
_NO_RESULTS = re.compile(r";\s*results\s*=\s*\"?false\"?", re.IGNORECASE)


@dataclass(frozen=True)
class NextPage:
    """Where the next page is: inputs to set (cursor, offset, page), or a URL (link, next_url).

    Attributes:
        inputs: Inputs that replace the caller's for the next request (`{"cursor": "dXNl"}`).
        url: The next page's absolute URL, which carries its query.
        failure: Instead of a page, the error that ends the iteration (a FAILED `ActionResult` as
            JSON): a next link elsewhere is reported after the items of the page that gave it.
    """

    inputs: dict[str, Any] = field(default_factory=dict)
    url: str | None = None
    failure: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The next page as JSON (sealed into a page token)."""
        return {"inputs": self.inputs, "url": self.url, "failure": self.failure}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NextPage:
        """Read a next page from `to_dict`'s JSON.

        Args:
            data: The JSON.

        Returns:
            The next page.

        Raises:
            InvalidInput: The JSON is not a next page.
        """
        inputs, url, failure = data.get("inputs"), data.get("url"), data.get("failure")
        if (
            not isinstance(inputs, dict)
            or not (url is None or isinstance(url, str))
            or not (failure is None or isinstance(failure, dict))
        ):
            raise InvalidInput("page_token is not a page token plughub gave")
        return cls(inputs, url, failure)


def first_inputs(pagination: PaginationSpec, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The inputs of the first page: the caller's, with the definition's page size where none is given.

    Args:
        pagination: The action's pagination.
        inputs: The caller's (validated) inputs.

    Returns:
        The inputs to send.
    """
    sent = dict(inputs)
    if isinstance(pagination, (CursorPagination, OffsetPagination, PagePagination)):
        limit, size = pagination.limit_input, pagination.page_size
        if limit and size and sent.get(limit) is None:
            sent[limit] = size
    return sent


def page_items(label: str, pagination: PaginationSpec, data: Any) -> list[Any]:
    """A page's items: the list at `pagination.items`.

    Args:
        label: Who was called, for the message.
        pagination: The action's pagination.
        data: The page's parsed answer.

    Returns:
        The items; none when the answer has nothing there (some services leave an empty list out).

    Raises:
        ActionError: Something other than a list is there (the definition does not fit the answer).
    """
    found = resolve(data, pagination.items)
    if found is MISSING or found is None:
        return []
    if not isinstance(found, list):
        where = pagination.items or "the answer itself"
        raise ActionError(
            f"{label}: pagination.items ({where!r}) should lead to the page's list of items, but the answer "
            f"has {type(found).__name__} there; fix the definition's pagination.items",
            details={"items": pagination.items},
        )
    return found


def next_page(
    label: str,
    pagination: PaginationSpec,
    answer: Answer,
    sent: Mapping[str, Any],
    items: list[Any],
    origin: httpx.URL,
) -> NextPage | None:
    """Where the page after this one is, or None when this was the last.

    Args:
        label: Who was called, for messages.
        pagination: The action's pagination.
        answer: This page's answer (SUCCESS).
        sent: The inputs this page was asked with.
        items: This page's items.
        origin: The first page's request URL: a next URL must be on its origin.

    Returns:
        The next page, or None.

    Raises:
        UpstreamRedirect: The next page's URL is on another origin (not followed).
    """
    data = answer.result.data
    if pagination.has_more is not None and resolve(data, pagination.has_more) is not True:
        return None
    if isinstance(pagination, CursorPagination):
        return _next_cursor(pagination, data, sent, items)
    if isinstance(pagination, (OffsetPagination, PagePagination)):
        return _next_number(pagination, sent, items)
    if isinstance(pagination, LinkPagination):
        target = next_link(answer.headers)
    else:
        assert isinstance(pagination, NextUrlPagination)  # noqa: S101 - the union has five members
        found = resolve(data, pagination.next_url)
        target = found if isinstance(found, str) and found.strip() else None
    if target is None:
        return None
    base = answer.url or origin
    try:
        url = base.join(target.strip())
    except httpx.InvalidURL:
        raise ActionError(f"{label}: the next page's URL is not a URL: {target[:200]!r}") from None
    if answer.url is not None and url == answer.url:
        return None  # the same page again would loop
    if not same_origin(url, origin):
        raise UpstreamRedirect(
            f"{label}: the next page's link points to another host ({url.host}); plughub does not follow it so "
            "that credentials stay with the service",
            details={"host": url.host},
        )
    return NextPage(url=str(url))


def _next_cursor(pagination: CursorPagination, data: Any, sent: Mapping[str, Any], items: list[Any]) -> NextPage | None:
    if pagination.item_cursor is not None:
        cursor = resolve(items[-1], pagination.item_cursor) if items else MISSING
    else:
        cursor = resolve(data, pagination.next_cursor or "")
    if cursor is MISSING or cursor is None or cursor == "" or isinstance(cursor, (dict, list, bool)):
        return None
    if cursor == sent.get(pagination.cursor_input):
        return None  # the same cursor again would ask for the same page forever
    return NextPage(inputs={**sent, pagination.cursor_input: cursor})


def _next_number(
    pagination: OffsetPagination | PagePagination, sent: Mapping[str, Any], items: list[Any]
) -> NextPage | None:
    if not items:
        return None
    limit = sent.get(pagination.limit_input) if pagination.limit_input else None
    limit = limit if isinstance(limit, int) and not isinstance(limit, bool) else pagination.page_size
    if limit is not None and len(items) < limit:
        return None  # a short page is the last
    if isinstance(pagination, OffsetPagination):
        offset = _number(sent.get(pagination.offset_input), 0)
        return NextPage(inputs={**sent, pagination.offset_input: offset + len(items)})
    page = _number(sent.get(pagination.page_input), pagination.start)
    return NextPage(inputs={**sent, pagination.page_input: page + 1})


def _number(value: Any, default: int) -> int:
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return default


def next_link(headers: httpx.Headers) -> str | None:
    """The target of the `rel="next"` link of an answer's `Link` headers (RFC 8288), if any.

    Args:
        headers: The answer's headers.

    Returns:
        The link as written (maybe relative), or None.
    """
    for value in headers.get_list("link"):
        for match in _LINK_VALUE.finditer(value):
            parameters = match.group(2)
            for rel in _REL.finditer(parameters):
                relations = (rel.group(1) if rel.group(1) is not None else rel.group(2)).lower().split()
                # Sentry always sends rel="next", with results="false" on the last page.
                if "next" in relations and not _NO_RESULTS.search(parameters):
                    return match.group(1)
    return None
