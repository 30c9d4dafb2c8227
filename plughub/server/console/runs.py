"""`/console/runs`: the audit of a team's action runs, filtered and paginated."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from plughub.exceptions import InvalidInput
from plughub.server.console.session import PATH, ConsoleRoute, Operator, page

__all__ = ["router"]

router = APIRouter(prefix=f"{PATH}/runs", route_class=ConsoleRoute, include_in_schema=False)
PAGE_SIZE = 50
STATUSES = ["SUCCESS", "FAILED"]


def _time(value: str, name: str) -> datetime | None:
    """A time from a filter (`2025-01-31` or `2025-01-31T09:30`, UTC unless it says otherwise)."""
    if not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"{name} must be a date or a time such as 2025-01-31 or 2025-01-31T09:30") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


@router.get("")
def runs(
    request: Request,
    session: Operator,
    connection: str = "",
    action: str = "",
    status: str = "",
    since: str = "",
    until: str = "",
    page_number: Annotated[int, Query(alias="page", ge=0)] = 0,
) -> Response:
    """The team's runs, newest first: by connection, action, status and time range."""
    if status and status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}")
    start, end = _time(since, "since"), _time(until, "until")
    if start and end and start >= end:
        raise InvalidInput("since must be before until")
    found, total = request.app.state.engine.audit.search(
        session.team_id,
        connection_id=connection.strip() or None,
        action=action.strip() or None,
        status=status or None,
        since=start,
        until=end,
        offset=page_number * PAGE_SIZE,
        limit=PAGE_SIZE,
    )
    filters = {"connection": connection, "action": action, "status": status, "since": since, "until": until}
    pages = max(1, -(-total // PAGE_SIZE))
    return page(
        request,
        session,
        "runs.html",
        runs=found,
        total=total,
        page_number=page_number,
        pages=pages,
        filters=filters,
        statuses=STATUSES,
    )
