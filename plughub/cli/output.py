"""How the CLI prints: rich tables for people, JSON for scripts, one-line errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from typing import Any

import click

__all__ = ["echo_json", "fail", "table", "to_jsonable"]


def to_jsonable(value: Any) -> Any:
    """Convert models, enums and datetimes into plain JSON values.

    Args:
        value: What to convert.

    Returns:
        A JSON-serialisable value.
    """
    if hasattr(value, "model_dump"):
        return to_jsonable(value.model_dump(mode="json"))
    if hasattr(value, "to_dict"):
        return to_jsonable(value.to_dict())
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    return value


def echo_json(value: Any) -> None:
    """Print a value as indented JSON on stdout.

    Args:
        value: What to print.
    """
    click.echo(json.dumps(to_jsonable(value), indent=2, ensure_ascii=False))


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], caption: str | None = None) -> None:
    """Print a table.

    Args:
        title: Shown above it.
        columns: Column headings.
        rows: Cell values (converted with `str`).
        caption: Shown below it.
    """
    from rich.console import Console
    from rich.table import Table

    grid = Table(title=title, caption=caption, title_justify="left", caption_justify="left")
    for index, column in enumerate(columns):
        # Ids come first and must stay whole so that they can be copied and grepped.
        grid.add_column(column, overflow="fold", no_wrap=index == 0)
    for row in rows:
        grid.add_row(*("" if cell is None else str(cell) for cell in row))
    Console(soft_wrap=False).print(grid)


def fail(message: str, code: int = 1) -> None:
    """Print a one-line error on stderr and exit.

    Args:
        message: What went wrong and what to do.
        code: The exit code.

    Raises:
        SystemExit: Always.
    """
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)
