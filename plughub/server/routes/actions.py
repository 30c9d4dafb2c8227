"""`/v1/connections/{id}/actions`: list, describe and run actions."""

from __future__ import annotations

from fastapi import APIRouter, Request

from plughub.schemas import ActionInfo, ActionResult
from plughub.server.models import RunBody
from plughub.server.security import AsyncTeam, Team

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


@router.post("/{action}/run")
async def run_action(request: Request, key: AsyncTeam, connection_id: str, action: str, body: RunBody) -> ActionResult:
    """Run an action against the real service; a failure at the service is a FAILED result, not an error.

    With `"paginate": true` the action's pages are read (up to `max_pages`, 10 by default): `data`
    is every item, `details` has `pages`, `truncated` and, when truncated, `next_page_token`, which
    `"page_token"` takes to go on.
    """
    # Asynchronous: the hot route of the server sends its request from the event loop.
    return await request.app.state.engine.actions.run_async(  # type: ignore[no-any-return]
        connection_id,
        action,
        body.inputs,
        team=key.team_id,
        paginate=body.paginate,
        max_pages=body.max_pages,
        page_token=body.page_token,
    )
