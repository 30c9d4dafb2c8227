"""`/v1/connections/{id}/actions`: list and describe actions (runs: `plughub.server.run_route`)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from plughub.schemas import ActionInfo
from plughub.server.security import Team

__all__ = ["router"]

router = APIRouter(prefix="/v1/connections/{connection_id}/actions", tags=["actions"])


@router.get("")
def list_actions(request: Request, key: Team, connection_id: str) -> list[ActionInfo]:
    """The connection's actions with their inputs."""
    return request.app.state.engine.actions.list(connection_id, team=key.team_id)  # type: ignore[no-any-return]


@router.post("/refresh")
def refresh_actions(request: Request, key: Team, connection_id: str) -> list[ActionInfo]:
    """List the actions again, bypassing caches (an MCP server's tools may have changed)."""
    return request.app.state.engine.actions.refresh(connection_id, team=key.team_id)  # type: ignore[no-any-return]


@router.get("/{action}")
def get_action(request: Request, key: Team, connection_id: str, action: str) -> ActionInfo:
    """One action and its inputs (JSON Schema included)."""
    return request.app.state.engine.actions.get(connection_id, action, team=key.team_id)  # type: ignore[no-any-return]
