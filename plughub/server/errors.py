"""Every error as JSON `{"error", "message", "details"}` with the status of its class."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from plughub.exceptions import PlughubError

__all__ = ["install_error_handlers"]


def _body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": code, "message": message, "details": details or {}}


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that turn exceptions into the JSON error shape.

    Args:
        app: The application.
    """

    @app.exception_handler(PlughubError)
    async def plughub_error(_request: Request, exc: PlughubError) -> JSONResponse:
        return JSONResponse(exc.to_dict(), status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
            problems.append({"field": where or "body", "problem": err.get("msg", "invalid")})
        message = "; ".join(f"{p['field']}: {p['problem']}" for p in problems[:5]) or "invalid request"
        return JSONResponse(_body("invalid_input", message, {"problems": problems}), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
        code = codes.get(exc.status_code, "http_error")
        return JSONResponse(_body(code, str(exc.detail)), status_code=exc.status_code)
