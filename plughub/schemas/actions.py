"""Actions and their results as they cross the backend boundary."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from plughub.enums import ResponseStatus
from plughub.schemas.integrations import InputField

__all__ = ["ActionInfo", "ActionResult"]


class ActionInfo(BaseModel):
    """An action a connection can run; `input_schema` is its JSON Schema."""

    code: str
    name: str
    description: str = ""
    method: str = "GET"
    path: str = "/"
    inputs: list[InputField] = Field(default_factory=list)
    input_schema: dict[str, Any] = Field(default_factory=dict)


class ActionResult(BaseModel):
    """The outcome of running an action.

    `status_code` is the upstream's HTTP status when a request was answered.
    """

    status: ResponseStatus
    data: Any = None
    status_code: int | None = None
    error_code: str | None = None
    error_message: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    run_time: float = 0.0
