"""The v2 SDK's backend routes: `/v2/integrations/...` and `/v2/tools/...` (AIXPLAIN-WIRE.md §4.1-§4.5)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request

from plughub.engine import Engine
from plughub.exceptions import ConnectionNotFound, IntegrationNotFound
from plughub.schemas import ConnectionInfo, IntegrationInfo
from plughub.server.aixplain import envelopes, records
from plughub.server.aixplain.auth import TeamKey
from plughub.server.aixplain.errors import AixplainError, AixplainRoute
from plughub.server.aixplain.ids import engine_id
from plughub.server.aixplain.routes_v1 import paging

__all__ = ["router"]

router = APIRouter(route_class=AixplainRoute, include_in_schema=False, tags=["aiXplain"])


@router.post("/v2/integrations/paginate")
def search_integrations(request: Request, key: TeamKey, body: Annotated[Any, Body()] = None) -> dict[str, Any]:
    """Search integrations (`Integration.search(query)`); the answer's list is `results`."""
    engine: Engine = request.app.state.engine
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise AixplainError(400, "invalid_input", 'the body must be a JSON object such as {"pageNumber": 0}')
    query, page_number, page_size = paging(body)
    page = engine.integrations.list(query, page_number, page_size, team=key.team_id)
    return {
        "status": "SUCCESS",
        "completed": True,
        "results": [records.v2_integration(i) for i in page.results],
        "total": page.total,
        "pageTotal": page.page_total,
        "pageNumber": page.page_number,
    }


@router.get("/v2/integrations/{integration_id}")
def get_integration(request: Request, key: TeamKey, integration_id: str) -> dict[str, Any]:
    """One integration (the aiXplain MCP id answers for `mcp`)."""
    engine: Engine = request.app.state.engine
    try:
        info: IntegrationInfo = engine.integrations.get(engine_id(integration_id), team=key.team_id)
    except IntegrationNotFound:
        raise AixplainError(
            404,
            "integration_not_found",
            f"No integration with id '{integration_id}'. Find one with Integration.search(query).",
        ) from None
    return {**records.v2_integration(info, integration_id), "completed": True}


def _tool(engine: Engine, tool_id: str, team: str) -> ConnectionInfo:
    try:
        info: ConnectionInfo = engine.connections.get(tool_id, team=team)
    except ConnectionNotFound:
        raise AixplainError(
            404,
            "connection_not_found",
            f"No tool (connection) with id '{tool_id}' for this API key's team; a tool's id is the one "
            "Integration.connect() or Tool(...).save() returned.",
        ) from None
    return info


@router.get("/v2/tools/{tool_id}")
def get_tool(request: Request, key: TeamKey, tool_id: str) -> dict[str, Any]:
    """One of the team's connections, as a tool (`parentModelId` is its integration)."""
    return {**records.v2_tool(_tool(request.app.state.engine, tool_id, key.team_id)), "completed": True}


@router.delete("/v2/tools/{tool_id}")
def delete_tool(request: Request, key: TeamKey, tool_id: str) -> dict[str, Any]:
    """Delete one of the team's connections (OAuth tokens are revoked first)."""
    engine: Engine = request.app.state.engine
    info = _tool(engine, tool_id, key.team_id)
    return envelopes.done(engine.connections.delete(info.id, team=key.team_id).model_dump())
