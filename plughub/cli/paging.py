"""Pages of a listing in the CLI: counted from 1 in `--page`, in the footer and in `--json`.

The SDK counts pages from 0 (`page_number=0`, as aiXplain's does); people count from 1, so the
CLI converts at its edge and says so in `--help`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import click

__all__ = ["check_page", "page_caption", "page_options"]

F = TypeVar("F", bound=Callable[..., Any])

# The engine refuses page_number * page_size beyond 1e9; these bounds keep every CLI page below it.
_MAX_PAGE = 1_000_000
_MAX_PAGE_SIZE = 1000


def page_options(default_size: int) -> Callable[[F], F]:
    """Add `--page` (from 1) and `--page-size` to a listing command.

    Args:
        default_size: Results per page when `--page-size` is not given.

    Returns:
        The decorator.
    """

    def decorate(command: F) -> F:
        command = click.option(
            "--page-size",
            default=default_size,
            show_default=True,
            type=click.IntRange(1, _MAX_PAGE_SIZE),
            help="Results per page.",
        )(command)
        return click.option(
            "--page",
            default=1,
            show_default=True,
            type=click.IntRange(1, _MAX_PAGE),
            help="Page number, counting from 1.",
        )(command)

    return decorate


def _last(found: Mapping[str, Any]) -> int:
    return max(int(found["page_total"]), 1)  # an empty listing still has its one (empty) page


def check_page(found: Mapping[str, Any], page: int, page_size: int) -> None:
    """Refuse a page past the last one.

    Args:
        found: The SDK's listing (`page_total`, `total`).
        page: The page asked for, from 1.
        page_size: Results per page.

    Raises:
        click.BadParameter: The page is past the last one (a usage error, exit code 2).
    """
    last = _last(found)
    if page > last:
        raise click.BadParameter(
            f"page {page} is past the last page, {last} ({found['total']} in all, {page_size} a page).",
            param_hint="'--page'",
        )


def page_caption(found: Mapping[str, Any], page: int) -> str:
    """The footer of a listing's table: where this page is and how to get the next.

    Args:
        found: The SDK's listing.
        page: The page shown, from 1.

    Returns:
        `page 2 of 4, 180 in all; next: --page 3`.
    """
    last = _last(found)
    caption = f"page {page} of {last}, {found['total']} in all"
    return caption + (f"; next: --page {page + 1}" if page < last else "")
