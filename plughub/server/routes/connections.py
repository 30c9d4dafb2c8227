"""`/v1/connections`: connect, list, get (secrets masked), status, reconnect, delete, runs, proxy."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request

from plughub.engine.proxy.request import split_body
from plughub.schemas import ConnectionInfo, ConnectRequest, ConnectResult, DeleteResult, Page, ProxyResponse
from plughub.server.models import ProxyBody, ReconnectBody, RunInfo, StatusInfo
from plughub.server.security import Team

__all__ = ["router"]

router = APIRouter(prefix="/v1/connections", tags=["connections"])


@router.post("", status_code=201)
def connect(request: Request, key: Team, body: ConnectRequest) -> ConnectResult:
    """Connect to an integration (OAuth answers a `redirect_url`)."""
    return request.app.state.engine.connections.create(body, team=key.team_id)  # type: ignore[no-any-return]


@router.get("")
def list_connections(
    request: Request,
    key: Team,
    query: str | None = None,
    integration_id: str | None = None,
    end_user_id: str | None = None,
    page_number: int = Query(0, ge=0),
    page_size: int = Query(20, ge=1, le=1000),
) -> Page[ConnectionInfo]:
    """The team's connections, newest first; filter by end user or integration."""
    return request.app.state.engine.connections.list(  # type: ignore[no-any-return]
        query, page_number, page_size, integration_id, team=key.team_id, end_user_id=end_user_id
    )


@router.get("/{connection_id}")
def get_connection(request: Request, key: Team, connection_id: str) -> ConnectionInfo:
    """One connection, secrets masked."""
    return request.app.state.engine.connections.get(connection_id, team=key.team_id)  # type: ignore[no-any-return]


@router.get("/{connection_id}/status")
def get_status(request: Request, key: Team, connection_id: str) -> StatusInfo:
    """A connection's status (for polling while the user gives consent)."""
    info = request.app.state.engine.connections.get(connection_id, team=key.team_id)
    return StatusInfo(id=info.id, status=info.status, error=info.error)


@router.post("/{connection_id}/reconnect")
def reconnect(request: Request, key: Team, connection_id: str, body: ReconnectBody | None = None) -> ConnectResult:
    """A new consent URL for the same connection."""
    scopes = body.scopes if body else None
    return request.app.state.engine.connections.reconnect(connection_id, scopes, team=key.team_id)  # type: ignore[no-any-return]


@router.delete("/{connection_id}")
def delete_connection(
    request: Request, key: Team, connection_id: str, wait: float = Query(0, ge=0, le=30)
) -> DeleteResult:
    """Delete a connection, revoking its OAuth tokens at the provider first.

    `deleting` while jobs unsubscribe its subscriptions at the provider (it is gone for every
    read meanwhile); `?wait=N` waits up to N seconds for them.
    """
    connections = request.app.state.engine.connections
    return connections.delete(connection_id, team=key.team_id, wait=wait)  # type: ignore[no-any-return]


@router.get("/{connection_id}/runs")
def list_runs(request: Request, key: Team, connection_id: str, limit: int = Query(50, ge=1, le=1000)) -> list[RunInfo]:
    """The connection's audited action runs, newest first."""
    engine = request.app.state.engine
    engine.connections.record(connection_id, key.team_id)  # 404 for another team's id
    return [
        RunInfo(
            action=r.action,
            status=r.status,
            upstream_status=r.upstream_status,
            error_code=r.error_code,
            duration_ms=r.duration_ms,
            created_at=r.created_at,
        )
        for r in engine.audit.runs(connection_id, limit)
    ]


@router.post("/{connection_id}/proxy")
def proxy(request: Request, key: Team, connection_id: str, body: ProxyBody) -> ProxyResponse:
    """Send any request under the connection's base URL with its credentials.

    The answer comes back whatever its status (`ok` is false for a non-2xx one). Another origin, dot
    segments, `Authorization` and the scheme's own header or query names are refused (422); a service
    that does not answer is a 502 or 504.
    """
    json_body, data = split_body(body.body, body.headers)
    return request.app.state.engine.proxy.request(  # type: ignore[no-any-return]
        connection_id,
        body.method,
        body.path,
        params=body.query,
        json=json_body,
        data=data,
        headers=body.headers,
        team=key.team_id,
    )
