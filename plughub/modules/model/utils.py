"""The only conversions from backend results to `ModelResponse`."""

from __future__ import annotations

from plughub.enums import ResponseStatus
from plughub.exceptions import InvalidInput
from plughub.modules.model.response import ModelResponse
from plughub.schemas import ActionResult, ConnectResult

__all__ = ["action_response", "check_positive", "connect_response"]


def action_response(result: ActionResult) -> ModelResponse:
    """Turn an action's result into a `ModelResponse`.

    Args:
        result: The backend's result.

    Returns:
        The response; FAILED ones carry the error code, message and upstream status.
    """
    details = dict(result.details)
    if result.status_code is not None:
        details.setdefault("status_code", result.status_code)
    return ModelResponse(
        status=result.status,
        data=result.data,
        details=details,
        completed=result.status is not ResponseStatus.IN_PROGRESS,
        error_message=result.error_message or "",
        run_time=result.run_time,
        error_code=result.error_code,
    )


def connect_response(result: ConnectResult) -> ModelResponse:
    """Turn a connect result into a `ModelResponse` whose data holds `id` (and `redirectURL`).

    Args:
        result: The backend's result.

    Returns:
        The response.
    """
    data: dict[str, str] = {"id": result.id, "status": result.status.value}
    if result.redirect_url:
        data["redirectURL"] = result.redirect_url
    return ModelResponse(status=ResponseStatus.SUCCESS, data=data, completed=True)


def check_positive(name: str, limit: int | None) -> None:
    """Refuse a limit that is not a positive whole number (None means no limit).

    Args:
        name: The argument's name, for the message.
        limit: Its value.

    Raises:
        InvalidInput: `limit` is not None and not a whole number above 0.
    """
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise InvalidInput(f"{name} must be a positive whole number, not {limit!r}")
