"""`/console/connections`: a team's connections; one connection's page, reconnect, delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from plughub.enums import ConnectionStatus
from plughub.exceptions import InvalidInput, PlughubError
from plughub.server.console.returns import remember_return
from plughub.server.console.session import PATH, ConsoleRoute, Operator, check_csrf, page

__all__ = ["router"]

router = APIRouter(prefix=f"{PATH}/connections", route_class=ConsoleRoute, include_in_schema=False)
PAGE_SIZE = 25
STATUSES = [s.value for s in ConnectionStatus]


@router.get("")
def connections(
    request: Request,
    session: Operator,
    q: str = "",
    status: str = "",
    integration: str = "",
    end_user: str = "",
    deleted: str = "",
    deleting: str = "",
    page_number: Annotated[int, Query(alias="page", ge=0)] = 0,
) -> Response:
    """The team's connections, newest first: search, and filter by status, integration, end user."""
    if status and status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}")
    engine = request.app.state.engine
    found = engine.connections.list(
        q or None,
        page_number,
        PAGE_SIZE,
        integration or None,
        team=session.team_id,
        end_user_id=end_user or None,
        status=status or None,
    )
    last_used = engine.audit.last_used([c.id for c in found.results])
    filters = {"q": q, "status": status, "integration": integration, "end_user": end_user}
    return page(
        request,
        session,
        "connections.html",
        found=found,
        last_used=last_used,
        filters=filters,
        statuses=STATUSES,
        deleted=deleted,
        deleting=bool(deleting),
    )


@router.get("/{connection_id}")
def connection(request: Request, session: Operator, connection_id: str, reconnected: bool = False) -> Response:
    """One connection: its masked config and credentials, actions, recent runs."""
    engine = request.app.state.engine
    info = engine.connections.get(connection_id, team=session.team_id)
    actions, actions_error = [], None
    try:
        actions = engine.actions.list(connection_id, team=session.team_id)
    except PlughubError as exc:  # an MCP server that does not answer: the page still shows the rest
        actions_error = exc.message
    runs = engine.audit.runs(connection_id, 20)
    last_used = engine.audit.last_used([connection_id]).get(connection_id)
    return page(
        request,
        session,
        "connection.html",
        info=info,
        actions=actions,
        actions_error=actions_error,
        runs=runs,
        last_used=last_used,
        oauth=info.scheme.value in ("OAUTH1", "OAUTH2"),
        reconnected=reconnected,
    )


@router.post("/{connection_id}/reconnect")
def reconnect(
    request: Request, session: Operator, connection_id: str, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    """Start a new consent for an OAuth connection: the operator continues at the provider."""
    check_csrf(session.csrf_token, csrf_token)
    result = request.app.state.engine.connections.reconnect(connection_id, None, team=session.team_id)
    if not result.redirect_url:
        raise InvalidInput("only OAuth connections reconnect; connect again with new credentials instead")
    response = RedirectResponse(result.redirect_url, status_code=303)
    remember_return(request, response, result.id)  # back here afterwards, not to a connect link's redirect_url
    return response


@router.get("/{connection_id}/delete")
def confirm_delete(request: Request, session: Operator, connection_id: str) -> Response:
    """Ask before deleting."""
    info = request.app.state.engine.connections.get(connection_id, team=session.team_id)
    return page(request, session, "delete_connection.html", info=info)


@router.post("/{connection_id}/delete")
def delete(
    request: Request, session: Operator, connection_id: str, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    """Delete the connection (revoking its OAuth tokens at the provider first)."""
    check_csrf(session.csrf_token, csrf_token)
    result = request.app.state.engine.connections.delete(connection_id, team=session.team_id)
    deleting = "&deleting=1" if result.status == "deleting" else ""
    return RedirectResponse(f"{PATH}/connections?deleted={connection_id}{deleting}", status_code=303)
