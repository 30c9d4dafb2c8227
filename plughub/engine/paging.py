"""Pages of listings: the paging arguments checked, and the page built."""

from __future__ import annotations

from typing import Any

from plughub.exceptions import InvalidInput
from plughub.schemas import Page

__all__ = ["check_paging", "page_of"]


def page_of(items: list[Any], total: int, page_number: int, page_size: int) -> Page[Any]:
    """Build a page.

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
