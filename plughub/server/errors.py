"""Every error as JSON `{"error", "message", "details"}`, with the HTTP status of its class.

The exceptions (`plughub.exceptions`) carry a machine code and no HTTP status: the status is the
server's business, decided here for the REST routes, the run route, `/mcp` and the aiXplain routes.

```
401  AuthenticationError              413  PayloadTooLarge
422  InvalidInput and its subclasses, InvalidDefinition, OAuthAppMissing
404  NotFoundError and its subclasses
409  ConflictError, ConnectionStateError (InvalidCredentials), ConnectionExpired
400  OAuthError (OAuthStateError)     502  OAuthProviderError, ActionError and its subclasses
504  UpstreamTransportError (UpstreamTimeout)
503  BackendError, DatabaseUnavailable (with Retry-After: 5)
500  everything else (ConfigurationError, CatalogError, CredentialError, ...)
```
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from plughub.exceptions import (
    ActionError,
    AuthenticationError,
    BackendError,
    ConflictError,
    ConnectionExpired,
    ConnectionStateError,
    DatabaseUnavailable,
    InvalidDefinition,
    InvalidInput,
    NotFoundError,
    OAuthAppMissing,
    OAuthError,
    OAuthProviderError,
    PayloadTooLarge,
    PlughubError,
    UpstreamTransportError,
)
from plughub.server.logs import request_id_var

__all__ = [
    "error_response",
    "http_error_response",
    "install_error_handlers",
    "invalid_request_response",
    "retry_after_of",
    "status_of",
    "unexpected",
]

logger = logging.getLogger("plughub.server")

# A class's status is that of the nearest class in its MRO listed here (PlughubError: 500). Classes
# with two parents (InvalidDefinition is a CatalogError and an InvalidInput) are listed themselves.
_STATUSES: dict[type[PlughubError], int] = {
    PlughubError: 500,
    AuthenticationError: 401,
    PayloadTooLarge: 413,
    InvalidInput: 422,
    NotFoundError: 404,
    ConflictError: 409,
    InvalidDefinition: 422,
    ConnectionStateError: 409,
    OAuthError: 400,
    OAuthAppMissing: 422,
    OAuthProviderError: 502,
    ConnectionExpired: 409,
    ActionError: 502,
    UpstreamTransportError: 504,
    BackendError: 503,
    DatabaseUnavailable: 503,
}
# Seconds a client should wait before trying again (`Retry-After`), where waiting helps.
_RETRY_AFTER: dict[type[PlughubError], int] = {DatabaseUnavailable: 5}
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


def status_of(exc: PlughubError) -> int:
    """The HTTP status that answers an error.

    Args:
        exc: The error.

    Returns:
        The status of the nearest class of `exc` in the table above.
    """
    return next(_STATUSES[cls] for cls in type(exc).__mro__ if cls in _STATUSES)


def retry_after_of(exc: PlughubError) -> int | None:
    """The seconds a client should wait before trying again, where waiting helps.

    Args:
        exc: The error.

    Returns:
        The `Retry-After` value, or None.
    """
    return next((_RETRY_AFTER[cls] for cls in type(exc).__mro__ if cls in _RETRY_AFTER), None)


def _body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": code, "message": message, "details": details or {}}


def error_response(exc: PlughubError) -> JSONResponse:
    """A plughub error as the JSON error shape, with its status (and `Retry-After` where waiting helps).

    Args:
        exc: The error.

    Returns:
        The response.
    """
    retry_after = retry_after_of(exc)
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return JSONResponse(exc.to_dict(), status_code=status_of(exc), headers=headers)


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


def invalid_request_response(exc: RequestValidationError) -> JSONResponse:
    """A request FastAPI could not validate (or parse) as a 422 `invalid_input`, naming each field.

    Args:
        exc: The validation error (locations start with "body", "query" or "path").

    Returns:
        The response; `details["problems"]` lists `{"field", "problem"}`.
    """
    problems = []
    for err in exc.errors():
        # A JSON decoding error is located at a character offset, not a field: call it the body.
        parts = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        where = "body" if err.get("type") == "json_invalid" else ".".join(parts)
        problems.append({"field": where or "body", "problem": err.get("msg", "invalid")})
    message = "; ".join(f"{p['field']}: {p['problem']}" for p in problems[:5]) or "invalid request"
    return JSONResponse(_body("invalid_input", message, {"problems": problems}), status_code=422)


def http_error_response(exc: StarletteHTTPException) -> JSONResponse:
    """An HTTP error of the framework (no such route, a method not allowed, ...) as the JSON error shape.

    Args:
        exc: The error.

    Returns:
        The response, with the error's status.
    """
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return JSONResponse(_body(code, str(exc.detail)), status_code=exc.status_code)


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
        return invalid_request_response(exc)

    @app.exception_handler(Exception)
    async def unexpected_error(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(unexpected(exc), status_code=500)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return http_error_response(exc)
