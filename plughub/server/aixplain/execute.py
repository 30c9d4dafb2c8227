"""The execute handler, `POST /api/v1/execute/{id}` and `POST /api/v2/execute/{id}` (AIXPLAIN-WIRE.md §5).

One handler for everything, chosen by the body and the id:

| id | body | answer (`data`) |
| --- | --- | --- |
| integration | no `action` (`authScheme`, `data`, `name`, `description`) | `{"id", "redirectURL"?}` |
| either | `{"action": "LIST_ACTIONS"}` | `[{"name", "displayName", "description"}]` |
| either | `{"action": "LIST_INPUTS", "data": {"actions": [...]}}` | `[{"name", "inputs"}]` |
| either | `{"action": "LIST_TOOLS", "data": " "}` (MCP) | `[{"name", "description"}]` |
| either | `{"action": "LIST_TOOLS", "data": {"actions": [...]}}` (MCP) | `[{"name", "inputs"}]` |
| either | `{"action": "list_trigger_types"}` | `[]` |
| connection | `{"action": "<code>", "data": {...}}` | the service's answer, or a poll URL |

Action runs posted to `/api/v1/execute` (the SDK's `run_async`) are answered asynchronously at once;
on `/api/v2/execute` (what `run` posts) the answer waits up to `PLUGHUB_AIXPLAIN_SYNC_WAIT` seconds,
then turns asynchronous. Listings and connects are always answered at once. A run that fails
(unknown action, invalid inputs, the service's error) is a `FAILED` envelope; a missing key, an
unknown id or a malformed body is an HTTP error in the aiXplain shape.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request

from plughub.engine import Engine
from plughub.engine.catalog import describe_action
from plughub.exceptions import ConnectionNotFound, IntegrationNotFound
from plughub.schemas import ActionInfo, ConnectionInfo, IntegrationInfo
from plughub.server.aixplain import envelopes, records
from plughub.server.aixplain.auth import TeamKey
from plughub.server.aixplain.connect import connect_request
from plughub.server.aixplain.errors import AixplainError, AixplainRoute
from plughub.server.aixplain.ids import engine_id
from plughub.server.aixplain.polling import Runs

__all__ = ["LISTINGS", "find_asset", "not_found", "router"]

LISTINGS = ("LIST_ACTIONS", "LIST_INPUTS", "LIST_TOOLS", "LIST_TRIGGER_TYPES")

router = APIRouter(route_class=AixplainRoute, include_in_schema=False, tags=["aiXplain"])


def not_found(asset_id: str) -> AixplainError:
    """The 404 for an id that is neither an integration nor one of the team's connections.

    Args:
        asset_id: The id asked for.

    Returns:
        The error to raise.
    """
    return AixplainError(
        404,
        "not_found",
        f"No integration or connection with id '{asset_id}' for this API key's team. List integrations with "
        "IntegrationFactory.list(); a connection's id is the `id` that connect() returned.",
    )


def find_asset(engine: Engine, asset_id: str, team: str) -> IntegrationInfo | ConnectionInfo:
    """Find an integration (by id, the aiXplain MCP id included) or one of the team's connections.

    Args:
        engine: The engine.
        asset_id: The id from the path.
        team: The team asking.

    Returns:
        The integration or the connection.

    Raises:
        AixplainError: 404 when it is neither (another team's connection included).
    """
    try:
        info: IntegrationInfo = engine.integrations.get(engine_id(asset_id), team=team)
        return info
    except IntegrationNotFound:
        pass
    try:
        return engine.connections.get(asset_id, team=team)
    except ConnectionNotFound:
        raise not_found(asset_id) from None


def _actions(engine: Engine, asset: IntegrationInfo | ConnectionInfo, team: str) -> list[ActionInfo]:
    if isinstance(asset, ConnectionInfo):
        found: list[ActionInfo] = engine.actions.list(asset.id, team=team)
        return found
    spec = engine.catalog.spec(asset.id, team)
    return [describe_action(code, action) for code, action in spec.actions.items()]


def _asked(data: Any) -> list[str] | None:
    """The action names of `{"actions": [...]}`; None when the body asks for every action."""
    if not isinstance(data, dict) or "actions" not in data:
        return None
    names = data["actions"]
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise AixplainError(400, "invalid_input", 'data.actions must be a list of action names, e.g. ["SEND_MESSAGE"]')
    return names


def _inputs(actions: list[ActionInfo], names: list[str] | None, prefix: str) -> list[dict[str, Any]]:
    """LIST_INPUTS: each asked action that exists, under the name it was asked by (unknown ones are left out).

    Names match codes case-insensitively, with or without the integration's prefix, as runs do.
    """
    if names is None:
        return [records.action_inputs_item(a) for a in actions]
    by_code = {a.code.casefold(): a for a in actions}
    found = []
    for name in names:
        action = by_code.get(name.casefold()) or by_code.get((prefix + name).casefold())
        if action is not None:
            found.append(records.action_inputs_item(action, name))
    return found


def _listing(engine: Engine, asset: IntegrationInfo | ConnectionInfo, action: str, data: Any, team: str) -> Any:
    if action == "LIST_TRIGGER_TYPES":
        return []
    actions = _actions(engine, asset, team)
    if action == "LIST_ACTIONS":
        return [records.action_item(a) for a in actions]
    names = _asked(data)
    if action == "LIST_TOOLS" and names is None:
        return [records.tool_item(a) for a in actions]
    integration_id = asset.integration_id if isinstance(asset, ConnectionInfo) else asset.id
    return _inputs(actions, names, engine.catalog.spec(integration_id, team).action_prefix)


def _execute(request: Request, key: TeamKey, asset_id: str, body: Any, wait: float) -> dict[str, Any]:
    engine: Engine = request.app.state.engine
    if not isinstance(body, dict):
        raise AixplainError(
            400,
            "invalid_input",
            'the body must be a JSON object: {"action": "LIST_ACTIONS", "data": {}}, {"action": "<ACTION>", '
            '"data": {...inputs}}, or a connect body {"authScheme": "...", "data": {...}}',
        )
    asset = find_asset(engine, asset_id, key.team_id)
    action = body.get("action")
    if action is None:
        if isinstance(asset, ConnectionInfo):
            raise AixplainError(
                400,
                "invalid_input",
                f"'{asset_id}' is a connection: send the action to run, "
                '{"action": "<ACTION>", "data": {...}}; list them with {"action": "LIST_ACTIONS"}',
            )
        result = engine.connections.create(connect_request(asset, body), team=key.team_id)
        data: dict[str, Any] = {"id": result.id}
        if result.redirect_url:
            data["redirectURL"] = result.redirect_url
        return envelopes.done(data)
    if not isinstance(action, str) or not action.strip():
        raise AixplainError(400, "invalid_input", 'action must be the name of an action, e.g. "LIST_ACTIONS"')
    if action.upper() in LISTINGS:
        return envelopes.done(_listing(engine, asset, action.upper(), body.get("data"), key.team_id))
    if isinstance(asset, IntegrationInfo):
        raise AixplainError(
            400,
            "invalid_input",
            f"'{asset_id}' is an integration: connect to it first, then run {action} on the connection id "
            "that connect() returned",
        )
    runs: Runs = request.app.state.aixplain_runs
    return runs.start(request, key.team_id, asset.id, action, body.get("data"), wait)


@router.post("/api/v1/execute/{asset_id}")
def execute_v1(request: Request, key: TeamKey, asset_id: str, body: Annotated[Any, Body()] = None) -> dict[str, Any]:
    """Connect, list, or run an action; action runs are answered asynchronously (a poll URL)."""
    return _execute(request, key, asset_id, body, wait=0)


@router.post("/api/v2/execute/{asset_id}")
def execute_v2(request: Request, key: TeamKey, asset_id: str, body: Annotated[Any, Body()] = None) -> dict[str, Any]:
    """Connect, list, or run an action; a run longer than `PLUGHUB_AIXPLAIN_SYNC_WAIT` turns asynchronous."""
    return _execute(request, key, asset_id, body, wait=float(request.app.state.settings.aixplain_sync_wait))
