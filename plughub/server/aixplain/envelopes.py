"""The execute envelope: `{"status", "completed", "data", ...}` (AIXPLAIN-WIRE.md §5, §3.8).

`status` and `completed` are always there. A failed run says why in `error_message` (what the v1
SDK shows) and `errorCode` (plughub's code; not `error_code`, which the v1 SDK would receive twice
and fail on); when the upstream service is the cause, `supplierError` repeats its (redacted)
answer, which the v2 SDK shows first.
"""

from __future__ import annotations

from typing import Any

from plughub.enums import ResponseStatus
from plughub.exceptions import PlughubError
from plughub.schemas import ActionResult
from plughub.server.aixplain.errors import wire_status
from plughub.server.errors import status_of

__all__ = ["done", "failed", "from_error", "from_result", "in_progress"]

# Failures whose cause is the service the action called, not the request.
_SUPPLIER_CODES = frozenset({"upstream_status", "upstream_unreachable", "upstream_redirect"})


def done(data: Any) -> dict[str, Any]:
    """A finished, successful answer.

    Args:
        data: The answer's data.

    Returns:
        `{"status": "SUCCESS", "completed": true, "data": data}`.
    """
    return {"status": ResponseStatus.SUCCESS.value, "completed": True, "data": data}


def failed(code: str, message: str, **extra: Any) -> dict[str, Any]:
    """A finished, failed answer.

    Args:
        code: plughub's error code.
        message: What happened and what to do.
        **extra: More keys (`details`, `supplierError`, `statusCode`, ...).

    Returns:
        `{"status": "FAILED", "completed": true, "data": null, "error_message", "errorCode", ...}`.
    """
    return {
        "status": ResponseStatus.FAILED.value,
        "completed": True,
        "data": None,
        "error_message": message,
        "errorCode": code,
        **extra,
    }


def in_progress(poll_url: str, request_id: str) -> dict[str, Any]:
    """An asynchronous answer: poll `data` until `completed`.

    Args:
        poll_url: The absolute poll URL.
        request_id: The run's request id.

    Returns:
        `{"status": "IN_PROGRESS", "completed": false, "data": poll_url, "requestId": request_id}`.
    """
    return {"status": ResponseStatus.IN_PROGRESS.value, "completed": False, "data": poll_url, "requestId": request_id}


def from_result(result: ActionResult) -> dict[str, Any]:
    """The envelope of an action's result.

    Args:
        result: What `Engine.run_action` returned.

    Returns:
        SUCCESS with the service's answer, or FAILED with the reason.
    """
    common = {"runTime": result.run_time, "usedCredits": 0}
    if result.status is ResponseStatus.SUCCESS:
        return {**done(result.data), "details": result.details, **common}
    message = result.error_message or "the action failed"
    extra: dict[str, Any] = {"details": result.details, **common}
    if result.error_code in _SUPPLIER_CODES:
        extra["supplierError"] = message
    envelope = failed(result.error_code or "action_error", message, **extra)
    envelope["data"] = result.data
    return envelope


def from_error(exc: PlughubError) -> dict[str, Any]:
    """The envelope of a run refused by the engine (unknown action, invalid inputs, inactive connection).

    Args:
        exc: The error.

    Returns:
        FAILED with the error's code, message and details, and the HTTP status it stands for.
    """
    return failed(exc.code, exc.message, details=exc.details, statusCode=wire_status(status_of(exc)))
