"""`/console/subscriptions`: a team's subscriptions; one's events and deliveries, re-send, delete."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from plughub.engine.events.subscriptions import STATUSES
from plughub.exceptions import InvalidInput
from plughub.server.console.session import PATH, ConsoleRoute, Operator, check_csrf, page

__all__ = ["router"]

router = APIRouter(prefix=f"{PATH}/subscriptions", route_class=ConsoleRoute, include_in_schema=False)
PAGE_SIZE = 25
RECENT_EVENTS = 25
FAILED_SHOWN = 100


@router.get("")
def subscriptions(
    request: Request,
    session: Operator,
    status: str = "",
    connection: str = "",
    deleted: str = "",
    unsubscribe_error: str = "",
    page_number: Annotated[int, Query(alias="page", ge=0)] = 0,
) -> Response:
    """The team's subscriptions, newest first: filter by status and connection."""
    if status and status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}")
    found = request.app.state.engine.events.subscriptions.list(
        connection.strip() or None, page_number, PAGE_SIZE, team=session.team_id, status=status or None
    )
    filters = {"status": status, "connection": connection}
    return page(
        request,
        session,
        "subscriptions.html",
        found=found,
        filters=filters,
        statuses=STATUSES,
        deleted=deleted,
        unsubscribe_error=unsubscribe_error,
    )


@router.get("/{subscription_id}")
def subscription(request: Request, session: Operator, subscription_id: str, resent: str = "") -> Response:
    """One subscription: its config (secrets masked), recent events with their deliveries, failed deliveries."""
    service = request.app.state.engine.events.subscriptions
    info = service.get(subscription_id, team=session.team_id)
    events = service.recent_events(info.id, RECENT_EVENTS, team=session.team_id)
    deliveries = service.deliveries(info.id, None, RECENT_EVENTS, team=session.team_id)
    failed = service.deliveries(info.id, "failed", FAILED_SHOWN, team=session.team_id)
    return page(
        request,
        session,
        "subscription.html",
        info=info,
        events=events,
        deliveries={d.event_id: d for d in deliveries},
        failed=failed,
        resent=resent,
    )


@router.post("/{subscription_id}/events/{event_id}/redeliver")
def redeliver(
    request: Request,
    session: Operator,
    subscription_id: str,
    event_id: str,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Send an event to the subscription's target again (it becomes a pending delivery)."""
    check_csrf(session.csrf_token, csrf_token)
    delivery = request.app.state.engine.events.redeliver(subscription_id, event_id, team=session.team_id)
    query = urlencode({"resent": delivery.event_id})
    return RedirectResponse(f"{PATH}/subscriptions/{delivery.subscription_id}?{query}", status_code=303)


@router.get("/{subscription_id}/delete")
def confirm_delete(request: Request, session: Operator, subscription_id: str) -> Response:
    """Ask before deleting."""
    info = request.app.state.engine.events.subscriptions.get(subscription_id, team=session.team_id)
    return page(request, session, "delete_subscription.html", info=info)


@router.post("/{subscription_id}/delete")
def delete(
    request: Request, session: Operator, subscription_id: str, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    """Delete the subscription (removing the provider's webhook first when plughub registered it)."""
    check_csrf(session.csrf_token, csrf_token)
    deleted = request.app.state.engine.events.subscriptions.delete(subscription_id, team=session.team_id)
    query = {"deleted": deleted.id}
    if deleted.unsubscribe_error:
        query["unsubscribe_error"] = deleted.unsubscribe_error[:300]
    return RedirectResponse(f"{PATH}/subscriptions?{urlencode(query)}", status_code=303)
