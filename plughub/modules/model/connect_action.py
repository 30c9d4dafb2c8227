"""`ConnectAction`: an action a connection can run, as the aiXplain SDK names it."""

from __future__ import annotations

from typing import Any

from plughub.schemas import ActionInfo

__all__ = ["PROXY", "ConnectAction", "action_inputs"]

# The action_scope entry that lets `request` through (DESIGN.md §9).
PROXY = "PROXY"


class ConnectAction:
    """An action a connection can run.

    Args:
        name: Its display name.
        description: What it does.
        code: Its code (`GITHUB_CREATE_ISSUE`).
        inputs: Its inputs keyed by code, once known.
    """

    def __init__(
        self, name: str, description: str, code: str | None = None, inputs: dict[str, Any] | None = None
    ) -> None:
        self.name = name
        self.description = description
        self.code = code
        self.inputs = inputs

    def __repr__(self) -> str:
        return f"Action(code={self.code}, name={self.name})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ConnectAction) and other.code == self.code

    def __hash__(self) -> int:
        return hash(self.code)


def action_inputs(info: ActionInfo) -> dict[str, Any]:
    """An action's inputs as `ConnectAction.inputs` holds them: by code, each a plain dict.

    Args:
        info: The action.

    Returns:
        Each input's code, name, description, datatype, required, default, enum, location and schema.
    """
    return {
        field.code: {
            "code": field.code,
            "name": field.name,
            "description": field.description,
            "datatype": field.datatype,
            "required": field.required,
            "default": field.default,
            "enum": field.enum,
            "location": field.location,
            "schema": field.json_schema,
        }
        for field in info.inputs
    }
