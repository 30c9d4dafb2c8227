"""Every error as JSON `{"error", "message", "details"}` with the status of its class."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from plughub.exceptions import PlughubError
from plughub.server.logs import request_id_var

__all__ = ["error_response", "install_error_handlers", "unexpected"]

logger = logging.getLogger("plughub.server")


def _body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": code, "message": message, "details": details or {}}


def error_response(exc: PlughubError) -> JSONResponse:
    """A plughub error as the JSON error shape, with its status (and `Retry-After` where waiting helps).

    Args:
        exc: The error.

    Returns:
        The response.
    """
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
    return JSONResponse(exc.to_dict(), status_code=exc.status_code, headers=headers)


def unexpected(exc: Exception) -> dict[str, Any]:
    """Log an unexpected exception and describe it for the client (as a 500).

    Only the class name is logged and returned: an exception's text may hold anything.

    Args:
        exc: The exception.

    Returns:
        The JSON error body, with the request id.
    """
    request_id = request_id_var.get()
    logger.error("unexpected %s while serving a request", type(exc).__name__)
    message = "an unexpected error occurred" + (f" (request id {request_id})" if request_id else "")
    return _body("internal_error", message, {"request_id": request_id})


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that turn exceptions into the JSON error shape.

    Args:
        app: The application.
    """

    @app.exception_handler(PlughubError)
    async def plughub_error(_request: Request, exc: PlughubError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for err in exc.errors():
            # A JSON decoding error is located at a character offset, not a field: call it the body.
            parts = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
            where = "body" if err.get("type") == "json_invalid" else ".".join(parts)
            problems.append({"field": where or "body", "problem": err.get("msg", "invalid")})
        message = "; ".join(f"{p['field']}: {p['problem']}" for p in problems[:5]) or "invalid request"
        return JSONResponse(_body("invalid_input", message, {"problems": problems}), status_code=422)

    @app.exception_handler(Exception)
    async def unexpected_error(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(unexpected(exc), status_code=500)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
        code = codes.get(exc.status_code, "http_error")
        return JSONResponse(_body(code, str(exc.detail)), status_code=exc.status_code)
