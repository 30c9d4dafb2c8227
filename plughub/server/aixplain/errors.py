"""Errors in the aiXplain shape, for the aiXplain routes only (the `/v1` handlers stay as they are).

Every error body carries `statusCode`, `message` and `error` (AIXPLAIN-WIRE.md §7 item 11), and,
like every answer of these routes, `status` and `completed`: a v1 SDK that polls and meets an error
stops at once instead of polling until its timeout. `error_message` repeats the message for the v1
SDK, which shows that field; `error` is `<plughub code>: <message>` because the v1 SDK shows only
`error` from an execute error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from plughub.exceptions import PlughubError
from plughub.server.errors import retry_after_of, status_of
from plughub.server.logs import request_id_var

__all__ = ["AixplainError", "AixplainRoute", "error_body", "error_response", "wire_status"]

logger = logging.getLogger("plughub.server")

# aiXplain's v1 SDK words 400 as "please verify the request payload"; 409 and 422 have no text of
# their own there, and both mean that the request cannot be carried out as sent.
_WIRE_STATUS = {409: 400, 422: 400}
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


class AixplainError(Exception):
    """An error answered in the aiXplain shape.

    Args:
        status: The HTTP status.
        code: A machine code (plughub's codes where one exists).
        message: What happened and what to do; never a secret.
        supplier_error: What the upstream service said, when it is the cause.
    """

    def __init__(self, status: int, code: str, message: str, *, supplier_error: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.supplier_error = supplier_error


def wire_status(status: int) -> int:
    """The HTTP status the aiXplain routes answer for one of plughub's.

    Args:
        status: The status the `/v1` routes answer (`plughub.server.errors.status_of`).

    Returns:
        The status to send (409 and 422 become 400).
    """
    return _WIRE_STATUS.get(status, status)


def error_body(status: int, code: str, message: str, supplier_error: str | None = None) -> dict[str, Any]:
    """Build an error body.

    Args:
        status: The HTTP status.
        code: The machine code.
        message: The message.
        supplier_error: The upstream service's detail, if any.

    Returns:
        `{"status": "FAILED", "completed": true, "statusCode", "message", "error", "error_message"}`,
        plus `supplierError` when given.
    """
    body: dict[str, Any] = {
        "status": "FAILED",
        "completed": True,
        "statusCode": status,
        "message": message,
        "error": f"{code}: {message}",
        "error_message": message,
    }
    if supplier_error:
        body["supplierError"] = supplier_error
    return body


def error_response(exc: Exception) -> JSONResponse:
    """Turn an exception raised while serving an aiXplain route into its answer.

    Args:
        exc: The exception.

    Returns:
        The JSON error response.
    """
    if isinstance(exc, AixplainError):
        status, code, message, supplier = exc.status, exc.code, exc.message, exc.supplier_error
    elif isinstance(exc, PlughubError):
        status, code, message, supplier = wire_status(status_of(exc)), exc.code, exc.message, None
    elif isinstance(exc, RequestValidationError):
        status, code, supplier = 400, "invalid_input", None
        problems = []
        for err in exc.errors()[:5]:
            if err.get("type") == "json_invalid":
                problems.append("the body is not valid JSON")
                continue
            where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")) or "body"
            problems.append(f"{where}: {err.get('msg', 'invalid')}")
        message = "; ".join(problems) or "the request is invalid"
    elif isinstance(exc, StarletteHTTPException):
        status, code, supplier = exc.status_code, _HTTP_CODES.get(exc.status_code, "http_error"), None
        message = str(exc.detail)
    else:
        # Only the class name is logged and returned: an exception's text may hold anything.
        request_id = request_id_var.get()
        logger.error("unexpected %s while serving an aiXplain route", type(exc).__name__)
        status, code, supplier = 500, "internal_error", None
        message = "an unexpected error occurred" + (f" (request id {request_id})" if request_id else "")
    retry_after = retry_after_of(exc) if isinstance(exc, PlughubError) else None
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return JSONResponse(error_body(status, code, message, supplier), status_code=status, headers=headers)


class AixplainRoute(APIRoute):
    """A route whose errors (body parsing and authentication included) use the aiXplain shape."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Wrap FastAPI's handler so that every exception becomes an aiXplain error body.

        Returns:
            The wrapped handler.
        """
        handler = super().get_route_handler()

        async def aixplain_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:  # every failure is answered in the aiXplain shape
                return error_response(exc)

        return aixplain_handler
