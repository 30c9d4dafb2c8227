"""Pagination in the definition format (DESIGN.md §9): how an action's next page is asked for."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from plughub.engine.catalog.strict import StrictModel
from plughub.engine.json_pointer import check_pointer

__all__ = [
    "CursorPagination",
    "LinkPagination",
    "NextUrlPagination",
    "OffsetPagination",
    "PagePagination",
    "PaginationSpec",
]


class _PaginationBase(StrictModel):
    items: str = ""
    has_more: str | None = None

    _check_pointers = field_validator("items", "has_more")(check_pointer)

    def input_names(self) -> dict[str, str]:
        """The action inputs this pagination sets, by the key that names them."""
        return {}


class CursorPagination(_PaginationBase):
    """The next page is asked for with a cursor from this one: at a pointer, or the last item's."""

    type: Literal["cursor"]
    cursor_input: str
    next_cursor: str | None = None
    item_cursor: str | None = None
    # Sent as `limit_input` when the caller gives none (Zendesk pages by cursor only when asked a size).
    limit_input: str | None = None
    page_size: int | None = Field(default=None, ge=1)

    _check_cursor_pointers = field_validator("next_cursor", "item_cursor")(check_pointer)

    @model_validator(mode="after")
    def _one_source(self) -> CursorPagination:
        if (self.next_cursor is None) == (self.item_cursor is None):
            raise ValueError(
                "give exactly one of next_cursor (a pointer to the next cursor in the answer) or item_cursor "
                "(a pointer into the last item, e.g. /id for Stripe's starting_after)"
            )
        return self

    def input_names(self) -> dict[str, str]:  # noqa: D102
        names = {"cursor_input": self.cursor_input}
        return names | ({"limit_input": self.limit_input} if self.limit_input else {})


class OffsetPagination(_PaginationBase):
    """The next page starts after the items received so far (`offset_input`)."""

    type: Literal["offset"]
    offset_input: str
    limit_input: str | None = None
    page_size: int | None = Field(default=None, ge=1)

    def input_names(self) -> dict[str, str]:  # noqa: D102
        names = {"offset_input": self.offset_input}
        return names | ({"limit_input": self.limit_input} if self.limit_input else {})


class PagePagination(_PaginationBase):
    """Pages are numbered (`page_input`), from `start`."""

    type: Literal["page"]
    page_input: str
    start: int = Field(default=1, ge=0)
    limit_input: str | None = None
    page_size: int | None = Field(default=None, ge=1)

    def input_names(self) -> dict[str, str]:  # noqa: D102
        names = {"page_input": self.page_input}
        return names | ({"limit_input": self.limit_input} if self.limit_input else {})


class LinkPagination(_PaginationBase):
    """The next page's URL is the answer's RFC 8288 `Link: <...>; rel="next"` header."""

    type: Literal["link"]


class NextUrlPagination(_PaginationBase):
    """The next page's URL is in the answer, at `next_url`."""

    type: Literal["next_url"]
    next_url: str

    _check_next = field_validator("next_url")(check_pointer)


PaginationSpec = Annotated[
    CursorPagination | OffsetPagination | PagePagination | LinkPagination | NextUrlPagination,
    Field(discriminator="type"),
]
