"""The run-action route's fast lane: well-formed runs served in front of FastAPI.

`POST /v1/connections/{id}/actions/{action}/run` is the server's hot path. FastAPI's request
machinery (routing, dependency solving, body and response validation) costs more CPU than the run
itself, so this plain ASGI handler serves the common case: a JSON object body `{"inputs": {...}}`
and a live API key. Anything else (another body, a missing or unknown key) goes on to the FastAPI
route, which answers it as documented (422, 401) with its own validation and error shapes; the
route also stays the one the OpenAPI document describes. The answers of both are the same: the
`ActionResult` as JSON, or an error as `{"error", "message", "details"}` with the status of its
class.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.responses import JSONResponse, Response

from plughub.engine import Engine
from plughub.engine.actions.service import StagedRun
from plughub.exceptions import PlughubError
from plughub.server.errors import error_response, unexpected
from plughub.server.limits import replaying
from plughub.server.security import presented_key

__all__ = ["RunRoute"]

_RUN = re.compile(r"/v1/connections/([^/]+)/actions/([^/]+)/run")
_JSON = re.compile(rb"application/([a-z0-9.+-]*\+)?json\s*(;.*)?", re.IGNORECASE)

Scope = dict[str, Any]
Message = dict[str, Any]


class RunRoute:
    """ASGI middleware serving well-formed action runs; everything else passes through.

    Args:
        app: The application (FastAPI), which serves what this does not.
        engine: The engine the application serves.
    """

    def __init__(self, app: Any, engine: Engine) -> None:
        self.app = app
        self.engine = engine

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:  # noqa: D102
        matched = _RUN.fullmatch(scope["path"]) if scope["type"] == "http" and scope["method"] == "POST" else None
        if matched is None:
            await self.app(scope, receive, send)
            return
        body, complete = await _body(receive)
        run = _well_formed(scope, body) if complete else None
        key = _key(scope) if run is not None else ""
        response: Response | None = None
        try:
            # One trip for the key and the run's reads (a worker thread with PostgreSQL).
            admitted = (
                await self.engine.store.db.offload(self._admit, key, matched[1], matched[2], run) if key else None
            )
            if admitted is not None:
                result = await self.engine.actions.finish(admitted)
                response = Response(result.model_dump_json(by_alias=True), media_type="application/json")
        except PlughubError as exc:
            response = error_response(exc)
        except Exception as exc:
            response = JSONResponse(unexpected(exc), status_code=500)
        if response is None:  # no well-formed body, or no live key: FastAPI answers (and words) it
            await self.app(scope, replaying(body, receive), send)
            return
        await response(scope, receive, send)

    def _admit(self, key: str, connection_id: str, action: str, inputs: dict[str, Any]) -> StagedRun | None:
        """The staged run for a live key (None: the key is unknown or revoked)."""
        team = self.engine.teams.key_team(key)
        if team is None:
            return None
        return self.engine.actions.stage(connection_id, action, inputs, team=team)


async def _body(receive: Any) -> tuple[bytes, bool]:
    """The whole body (BodyLimit, further out, has bounded it), and whether it came complete."""
    chunks: list[bytes] = []
    while True:
        message: Message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), True


def _header(scope: Scope, name: bytes) -> bytes:
    return next((value for key, value in scope["headers"] if key == name), b"")


def _well_formed(scope: Scope, body: bytes) -> dict[str, Any] | None:
    """The inputs of a JSON body `{"inputs": {...}}` (or `{}`), else None."""
    if not _JSON.fullmatch(_header(scope, b"content-type")):
        return None
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):  # BodyLimit refuses deep bodies first; FastAPI words the rest
        return None
    if not isinstance(parsed, dict) or not set(parsed) <= {"inputs"}:
        return None
    inputs = parsed.get("inputs", {})
    return inputs if isinstance(inputs, dict) else None


def _key(scope: Scope) -> str:
    authorization, api_key = (_header(scope, name).decode("latin-1") for name in (b"authorization", b"x-api-key"))
    return presented_key(authorization, api_key)
