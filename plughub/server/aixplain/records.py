"""plughub's integrations, connections and actions as the aiXplain SDK reads them.

v1 (`/sdk/models/...`) wants `attributes` as a list of `{"name", "code"}`; v2 (`/v2/...`) as a dict.
Both read `auth_schemes` and `<SCHEME>-inputs` from it, JSON arrays in a string (AIXPLAIN-WIRE.md
§3.2-§3.3, §4.2, §4.5). Nothing secret is ever put in a record.
"""

from __future__ import annotations

import json
from typing import Any

from plughub.enums import AuthenticationSchema, ConnectionStatus, FunctionType
from plughub.schemas import ActionInfo, AuthSchemeInfo, ConnectionInfo, InputField, IntegrationInfo
from plughub.server.aixplain.ids import wire_id

__all__ = [
    "action_inputs_item",
    "action_item",
    "connect_inputs",
    "tool_item",
    "v1_connection",
    "v1_integration",
    "v2_integration",
    "v2_tool",
]

_OAUTH = (AuthenticationSchema.OAUTH1, AuthenticationSchema.OAUTH2)
_JSON_TYPES = frozenset({"string", "integer", "number", "boolean", "array", "object"})
# Asset statuses are lowercase `AssetStatus` values in both SDK versions.
_STATUS = {
    ConnectionStatus.ACTIVE: "onboarded",
    ConnectionStatus.PENDING: "pending",
    ConnectionStatus.FAILED: "failed",
    ConnectionStatus.EXPIRED: "disabled",
}
# The parameters of a run, as the platform describes a connection; with at least one well-formed
# parameter the v1 SDK's asset cache serialises the record without logging an error.
_RUN_PARAMS = [
    {"name": "action", "required": True, "dataType": "text", "defaultValues": []},
    {"name": "data", "required": True, "dataType": "text", "dataSubType": "json", "defaultValues": []},
]
_CONNECT_PARAMS = [
    {"name": "authScheme", "required": False, "dataType": "text", "defaultValues": []},
    {"name": "data", "required": False, "dataType": "text", "dataSubType": "json", "defaultValues": []},
]


def _datatype(field: InputField) -> str:
    kind = field.json_schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    return kind if isinstance(kind, str) and kind in _JSON_TYPES else "string"


def connect_inputs(scheme: AuthSchemeInfo) -> list[dict[str, Any]]:
    """The `<SCHEME>-inputs` of a scheme: the inputs a user must give to connect with it.

    The v1 SDK treats every listed input as required, so inputs that are optional or have a
    default are left out; OAuth schemes list none (the provider's consent page asks).

    Args:
        scheme: The scheme.

    Returns:
        `[{"name", "displayName", "type", "description", "required"}]`.
    """
    if scheme.scheme in _OAUTH and not scheme.inputs:
        return []
    return [
        {
            "name": field.code,
            "displayName": field.name,
            "type": _datatype(field),
            "description": field.description,
            "required": True,
        }
        for field in scheme.inputs
        if field.required and field.default is None
    ]


def _attributes(info: IntegrationInfo) -> dict[str, str]:
    found = {"auth_schemes": json.dumps(info.authentication_methods)}
    for scheme in info.auth_schemes:
        found[f"{scheme.scheme.value}-inputs"] = json.dumps(connect_inputs(scheme))
    return found


def v1_integration(info: IntegrationInfo, shown_id: str | None = None) -> dict[str, Any]:
    """An integration as `GET /sdk/models/{id}` answers it (the v1 SDK builds an `Integration`).

    Args:
        info: The integration.
        shown_id: The id to show (the one the SDK asked for); its wire id by default.

    Returns:
        The record.
    """
    return {
        "id": shown_id or wire_id(info.id),
        "name": info.name,
        "description": info.description,
        "function": {"id": "connector"},
        "functionType": FunctionType.INTEGRATION.value,
        "supplier": info.supplier,
        "pricing": {"price": 0},
        "version": {"id": "1.0"},
        "status": "onboarded",
        "params": _CONNECT_PARAMS,
        "attributes": [{"name": name, "code": code} for name, code in _attributes(info).items()],
    }


def _function_type(info: ConnectionInfo) -> str:
    kind = getattr(info, "function_type", None)
    return FunctionType.MCP_CONNECTION.value if kind is FunctionType.MCP_CONNECTION else FunctionType.CONNECTION.value


def _description(info: ConnectionInfo) -> str:
    return info.description or f"{info.integration_name} connection ({info.scheme.value})"


def v1_connection(info: ConnectionInfo) -> dict[str, Any]:
    """A connection as `GET /sdk/models/{id}` answers it (a `ConnectionTool` or `MCPConnection`).

    Args:
        info: The connection.

    Returns:
        The record.
    """
    return {
        "id": info.id,
        "name": info.name,
        "description": _description(info),
        "function": {"id": "utilities"},
        "functionType": _function_type(info),
        "supplier": info.integration_name,
        "pricing": {"price": 0},
        "version": {"id": "1.0"},
        "status": _STATUS.get(info.status, "draft"),
        "params": _RUN_PARAMS,
        "parentModelId": wire_id(info.integration_id),
        "createdAt": info.created_at.isoformat(),
    }


def v2_integration(info: IntegrationInfo, shown_id: str | None = None) -> dict[str, Any]:
    """An integration as `GET /v2/integrations/{id}` answers it (no `params`: v2 would check them).

    Args:
        info: The integration.
        shown_id: The id to show; its wire id by default.

    Returns:
        The record.
    """
    return {
        "id": shown_id or wire_id(info.id),
        "name": info.name,
        "description": info.description,
        "functionType": FunctionType.INTEGRATION.value,
        "function": {"id": "connector"},
        "vendor": {"name": info.supplier},
        "status": "onboarded",
        "attributes": _attributes(info),
    }


def v2_tool(info: ConnectionInfo) -> dict[str, Any]:
    """A connection as `GET /v2/tools/{id}` answers it.

    Args:
        info: The connection.

    Returns:
        The record; `parentModelId` is its integration.
    """
    return {
        "id": info.id,
        "name": info.name,
        "description": _description(info),
        "functionType": _function_type(info),
        "function": {"id": "utilities"},
        "parentModelId": wire_id(info.integration_id),
        "status": _STATUS.get(info.status, "draft"),
        "attributes": {"auth_schemes": json.dumps([info.scheme.value])},
        "createdAt": info.created_at.isoformat(),
        "updatedAt": info.updated_at.isoformat(),
    }


def action_item(action: ActionInfo) -> dict[str, Any]:
    """One LIST_ACTIONS item: `name` is the code to run, `displayName` the label.

    Args:
        action: The action.

    Returns:
        `{"name", "displayName", "description"}`.
    """
    return {"name": action.code, "displayName": action.name, "description": action.description}


def tool_item(action: ActionInfo) -> dict[str, Any]:
    """One LIST_TOOLS item (MCP connections): `name` is both label and code.

    Args:
        action: The action (an MCP server's tool).

    Returns:
        `{"name", "description"}`.
    """
    return {"name": action.code, "description": action.description}


def _input(field: InputField) -> dict[str, Any]:
    return {
        "code": field.code,
        "name": field.name,
        "description": field.description,
        "datatype": _datatype(field),
        "required": field.required,
        "defaultValue": [] if field.default is None else [field.default],
        "availableOptions": list(field.enum or []),
        "allowMulti": _datatype(field) == "array",
        "supportsVariables": False,
        "fixed": False,
        "value": [],
    }


def action_inputs_item(action: ActionInfo, name: str | None = None) -> dict[str, Any]:
    """One LIST_INPUTS item: the action's name as asked, and its inputs (each with `code` and `name`).

    Args:
        action: The action.
        name: The name the SDK asked for (v2 matches it case-insensitively); the code by default.

    Returns:
        `{"name", "displayName", "description", "inputs": [...]}`.
    """
    return {
        "name": name or action.code,
        "displayName": action.name,
        "description": action.description,
        "inputs": [_input(field) for field in action.inputs],
    }
