"""The v1 SDK's backend routes: `/sdk/models/...` (AIXPLAIN-WIRE.md §3.0-§3.2, §3.10)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request

from plughub.engine import Engine
from plughub.exceptions import IntegrationNotFound
from plughub.schemas import ConnectionInfo, IntegrationInfo, Page
from plughub.server.aixplain import envelopes, records
from plughub.server.aixplain.auth import TeamKey
from plughub.server.aixplain.errors import AixplainError, AixplainRoute
from plughub.server.aixplain.execute import find_asset
from plughub.server.aixplain.ids import engine_id

__all__ = ["CONNECTION_FUNCTIONS", "paging", "router"]

router = APIRouter(route_class=AixplainRoute, include_in_schema=False, tags=["aiXplain"])

CONNECTION_FUNCTIONS = frozenset({"connection", "utilities", "mcpconnection"})
"""`functions` filters that list connections; anything else lists integrations."""


def paging(body: dict[str, Any]) -> tuple[str | None, int, int]:
    """Read `q`, `pageNumber` and `pageSize` from a paginate body.

    Args:
        body: The body.

    Returns:
        The query (None for all), the 0-based page and its size.

    Raises:
        AixplainError: 400 for values of the wrong type.
    """
    query = body.get("q", body.get("query"))
    if query is not None and not isinstance(query, str):
        raise AixplainError(400, "invalid_input", "q must be a string")
    numbers = []
    for name, default in (("pageNumber", 0), ("pageSize", 20)):
        value = body.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise AixplainError(400, "invalid_input", f"{name} must be an integer")
        numbers.append(value)
    return (query or None), numbers[0], numbers[1]


def _record(asset: IntegrationInfo | ConnectionInfo, asked: str) -> dict[str, Any]:
    if isinstance(asset, IntegrationInfo):
        return records.v1_integration(asset, asked)
    return records.v1_connection(asset)


@router.post("/sdk/models/paginate")
def paginate(request: Request, key: TeamKey, body: Annotated[Any, Body()] = None) -> dict[str, Any]:
    """List integrations (`functions: ["connector"]`, the default) or the team's connections."""
    engine: Engine = request.app.state.engine
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise AixplainError(400, "invalid_input", 'the body must be a JSON object such as {"q": "", "pageNumber": 0}')
    query, page_number, page_size = paging(body)
    functions = body.get("functions") or []
    if not isinstance(functions, list):
        raise AixplainError(400, "invalid_input", 'functions must be a list, e.g. ["connector"]')
    page: Page[Any]
    if CONNECTION_FUNCTIONS.intersection(str(f) for f in functions):
        page = engine.connections.list(query, page_number, page_size, team=key.team_id)
        items = [records.v1_connection(c) for c in page.results]
    else:
        page = engine.integrations.list(query, page_number, page_size, team=key.team_id)
        items = [records.v1_integration(i) for i in page.results]
    return {"status": "SUCCESS", "completed": True, "items": items, "total": page.total, "pageTotal": page.page_total}


@router.get("/sdk/models/by-name/{name}")
def get_by_name(request: Request, key: TeamKey, name: str) -> dict[str, Any]:
    """An integration by name (or id), else the team's connection with exactly this name."""
    engine: Engine = request.app.state.engine
    try:
        info: IntegrationInfo = engine.integrations.get(engine_id(name), team=key.team_id)
        return {**records.v1_integration(info), "completed": True}
    except IntegrationNotFound:
        pass
    page = engine.connections.list(name, 0, 100, team=key.team_id)
    match = next((c for c in page.results if c.name == name), None)
    if match is None:
        raise AixplainError(
            404,
            "not_found",
            f"No integration or connection named '{name}' for this API key's team. "
            "List integrations with IntegrationFactory.list().",
        )
    return {**records.v1_connection(match), "completed": True}


@router.get("/sdk/models/{asset_id}")
def get_model(request: Request, key: TeamKey, asset_id: str) -> dict[str, Any]:
    """An integration (`functionType: connector`) or one of the team's connections.

    The record's `status` is the asset's (`onboarded`, `pending`, ...), as the SDK expects.
    """
    asset = find_asset(request.app.state.engine, asset_id, key.team_id)
    return {**_record(asset, asset_id), "completed": True}


@router.delete("/sdk/models/{asset_id}")
def delete_model(request: Request, key: TeamKey, asset_id: str) -> dict[str, Any]:
    """Delete one of the team's connections (OAuth tokens are revoked first); answers 200."""
    engine: Engine = request.app.state.engine
    asset = find_asset(engine, asset_id, key.team_id)
    if isinstance(asset, IntegrationInfo):
        raise AixplainError(
            400,
            "invalid_input",
            f"'{asset_id}' is an integration; only connections (the ids connect() returned) are deleted here",
        )
    return envelopes.done(engine.connections.delete(asset.id, team=key.team_id).model_dump())
