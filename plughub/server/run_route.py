"""`POST /v1/connections/{id}/actions/{action}/run`: the server's one run endpoint, and how OpenAPI shows it.

The route is the server's hot path. FastAPI's request machinery (dependency solving, body and
response validation) costs more CPU than the run itself, so the route is a Starlette `Route` over
a plain ASGI handler, registered ahead of FastAPI's routes (as `/mcp` is), and answers what the
OpenAPI document describes: the body `{"inputs": {...}}` read and refused as FastAPI reads and
refuses a `RunBody`, the API key checked as every `/v1` route checks it, the `ActionResult` as
JSON, errors as `{"error", "message", "details"}` with the status of their class.

In that order, as FastAPI does it: a JSON body that does not parse is 422, then a missing or
unknown key is 401, then a body that is not `RunBody` is 422. A well-formed run needs one trip to
the database (a worker thread with PostgreSQL) for the key and the run's reads together.

The document describes the route through a declaration (`documented`) that FastAPI turns into
OpenAPI as it would the route itself; `openapi_routes` puts it in the served route's place.
"""

from __future__ import annotations

import email.message
import json
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from plughub.engine import Engine
from plughub.engine.actions.service import StagedRun
from plughub.exceptions import PlughubError
from plughub.schemas import ActionResult
from plughub.server.errors import error_response, http_error_response, invalid_request_response, unexpected
from plughub.server.models import RunBody
from plughub.server.security import required_key, unknown_key

__all__ = ["RUN_PATH", "RunAction", "documented", "openapi_routes", "run_route"]

RUN_PATH = "/v1/connections/{connection_id}/actions/{action}/run"
_NO_BODY = object()  # an empty body: FastAPI's "Field required"
_JSON_TYPE = (b"content-type", b"application/json")


class RunAction:
    """The ASGI handler of the run route.

    Args:
        engine: The engine the server serves.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # noqa: D102
        try:
            answer = await self._run(scope, receive)
        except PlughubError as exc:
            response = error_response(exc)
        except RequestValidationError as exc:
            response = invalid_request_response(exc)
        except HTTPException as exc:
            response = http_error_response(exc)
        except Exception as exc:  # a 500 that names no more than the class (and never re-raises its text)
            response = JSONResponse(unexpected(exc), status_code=500)
        else:  # the ActionResult as JSON, as `Response(..., media_type="application/json")` sends it
            head = [(b"content-length", str(len(answer)).encode("ascii")), _JSON_TYPE]
            await send({"type": "http.response.start", "status": 200, "headers": head})
            await send({"type": "http.response.body", "body": answer})
            return
        await response(scope, receive, send)

    async def _run(self, scope: Scope, receive: Receive) -> bytes:
        content_type, authorization, x_api_key = _headers(scope)
        body = _parsed(content_type, await _body(receive))
        key = required_key(authorization, x_api_key)
        connection_id, action = scope["path_params"]["connection_id"], scope["path_params"]["action"]
        inputs = _well_formed(body)
        if inputs is None:  # the key first (401 before 422, as FastAPI's dependencies come first)
            team = await self.engine.store.db.offload(self._team, key)
            run = _validated(body)
            if run.paginate or run.max_pages is not None or run.page_token is not None:
                result = await self.engine.actions.run_async(
                    connection_id,
                    action,
                    run.inputs,
                    team=team,
                    paginate=run.paginate,
                    max_pages=run.max_pages,
                    page_token=run.page_token,
                )
                return _json(result)
            staged = await self.engine.store.db.offload(self._stage, team, connection_id, action, run.inputs)
        else:
            staged = await self.engine.store.db.offload(self._admit, key, connection_id, action, inputs)
        return _json(await self.engine.actions.finish(staged))

    def _team(self, key: str) -> str:
        team = self.engine.teams.key_team(key)
        if team is None:
            raise unknown_key()
        return team

    def _stage(self, team: str, connection_id: str, action: str, inputs: dict[str, Any]) -> StagedRun:
        return self.engine.actions.stage(connection_id, action, inputs, team=team)

    def _admit(self, key: str, connection_id: str, action: str, inputs: dict[str, Any]) -> StagedRun:
        """The key's team and the staged run, in one trip to the database."""
        return self._stage(self._team(key), connection_id, action, inputs)


def _json(result: ActionResult) -> bytes:
    return result.model_dump_json(by_alias=True).encode("utf-8")


# The request headers the route reads; ASGI servers give names in lower case.
_READ = {b"content-type": 0, b"authorization": 1, b"x-api-key": 2}


def _headers(scope: Scope) -> tuple[str | None, str, str]:
    """Content-Type (None when absent), Authorization and X-Api-Key ("" when absent), each the first sent.

    The values are what Starlette's `Request.headers.get` gives (latin-1 text), read in one pass.
    """
    found: list[str | None] = [None, None, None]
    for name, value in scope["headers"]:
        index = _READ.get(name)
        if index is not None and found[index] is None:
            found[index] = value.decode("latin-1")
    return found[0], found[1] or "", found[2] or ""


async def _body(receive: Receive) -> bytes:
    """The whole request body, as Starlette's `Request.body` reads it."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _json_type(content_type: str | None) -> bool:
    """Whether FastAPI reads a body of this type as JSON (`application/json` or `application/*+json`)."""
    if content_type == "application/json":
        return True
    if not content_type:  # FastAPI's strict content type: no type is not JSON
        return False
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))


def _parsed(content_type: str | None, body: bytes) -> Any:
    """The body as FastAPI hands it to validation: parsed JSON, the raw bytes, or `_NO_BODY`."""
    if not body:
        return _NO_BODY
    if not _json_type(content_type):
        return body
    try:
        return json.loads(body)
    except json.JSONDecodeError as exc:
        error = {"type": "json_invalid", "loc": ("body", exc.pos), "msg": "JSON decode error", "input": {}}
        raise RequestValidationError([{**error, "ctx": {"error": exc.msg}}], body=exc.doc) from exc
    except ValueError as exc:  # not text in any JSON encoding (Front has refused deep bodies first)
        raise HTTPException(status_code=400, detail="There was an error parsing the body") from exc


def _well_formed(body: Any) -> dict[str, Any] | None:
    """The inputs of a body `{"inputs": {...}}` (or `{}`), else None: the common case, without pydantic."""
    if not isinstance(body, dict) or not body.keys() <= {"inputs"}:
        return None
    inputs = body.get("inputs", {})
    return inputs if isinstance(inputs, dict) else None


def _validated(body: Any) -> RunBody:
    """The body as a `RunBody`, or FastAPI's validation error (located under "body") for it."""
    if body is _NO_BODY:
        raise RequestValidationError([{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}])
    try:
        return RunBody.model_validate(body, from_attributes=True)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in errors], body=body) from None


def run_route(engine: Engine) -> Route:
    """The run route, to register ahead of the application's other routes.

    Args:
        engine: The engine the server serves.

    Returns:
        `POST RUN_PATH` served by `RunAction` (another method is a 405).
    """
    return Route(RUN_PATH, RunAction(engine), methods=["POST"], name="run_action")


documented = APIRouter(tags=["actions"])


@documented.post(RUN_PATH)
async def run_action(connection_id: str, action: str, body: RunBody) -> ActionResult:
    """Run an action against the real service; a failure at the service is a FAILED result, not an error.

    With `"paginate": true` the action's pages are read (up to `max_pages`, 10 by default): `data`
    is every item, `details` has `pages`, `truncated` and, when truncated, `next_page_token`, which
    `"page_token"` takes to go on.
    """
    raise NotImplementedError("a declaration for the OpenAPI document: RunAction serves this route")


def openapi_routes(routes: Sequence[BaseRoute], served: Route) -> list[BaseRoute]:
    """The routes to describe in the OpenAPI document: the run route as `documented` declares it.

    Args:
        routes: The application's routes.
        served: The run route among them.

    Returns:
        The routes, the run route replaced by its declaration.
    """
    return [declared for route in routes for declared in (documented.routes if route is served else [route])]
