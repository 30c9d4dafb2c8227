"""Actions and their results as they cross the backend boundary."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from plughub.enums import ResponseStatus
from plughub.exceptions import PlughubError
from plughub.schemas.integrations import InputField

__all__ = ["ActionInfo", "ActionResult", "ProxyResponse"]


class ActionInfo(BaseModel):
    """An action a connection can run; `input_schema` is its JSON Schema."""

    code: str
    name: str
    description: str = ""
    method: str = "GET"
    path: str = "/"
    inputs: list[InputField] = Field(default_factory=list)
    input_schema: dict[str, Any] = Field(default_factory=dict)
    # How the action pages through a list (`cursor`, `offset`, `page`, `link`, `next_url`), if it does.
    pagination: str | None = None


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

    @classmethod
    def failure(
        cls,
        error: PlughubError,
        *,
        status_code: int | None = None,
        data: Any = None,
        run_time: float = 0.0,
    ) -> ActionResult:
        """A FAILED result that says what `error` says: its code, message and details.

        Building failures from exceptions keeps `error_code` one of the exception classes' codes,
        which the remote backend turns back into the class.

        Args:
            error: What went wrong.
            status_code: The upstream's HTTP status, when it answered.
            data: The upstream's parsed error body, when there is one.
            run_time: Seconds the run took.

        Returns:
            The result.
        """
        return cls(
            status=ResponseStatus.FAILED,
            data=data,
            status_code=status_code,
            error_code=error.code,
            error_message=error.message,
            details=dict(error.details),
            run_time=run_time,
        )


class ProxyResponse(BaseModel):
    """A service's answer to a proxied request (`ConnectionTool.request`), whatever its status.

    Attributes:
        status_code: The HTTP status.
        headers: The answer's headers (encoding headers left out, secrets masked).
        data: The body: parsed JSON, else text; None when empty. Secrets the service echoed are masked.
        ok: Whether the status is 2xx.
    """

    status_code: int
    headers: dict[str, str] = Field(default_factory=dict)
    data: Any = None
    ok: bool
