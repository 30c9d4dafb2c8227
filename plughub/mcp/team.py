"""`/mcp` in `plughub serve`: a team's connections as MCP tools, behind the team's API key."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from plughub.enums import ConnectionStatus
from plughub.exceptions import ConnectionNotFound, InvalidInput, PlughubError
from plughub.mcp.server import StreamableHTTPEndpoint
from plughub.mcp.toolset import Toolset
from plughub.schemas import ActionInfo, ActionResult, ConnectionInfo

if TYPE_CHECKING:
    from plughub.engine import Engine
    from plughub.engine.store import ApiKeyRecord

__all__ = ["END_USER_HEADER", "TeamSource", "team_endpoint"]

END_USER_HEADER = "X-End-User-Id"
_PAGE = 1000
_SPLIT = re.compile(r"[\s,]+")


class TeamSource:
    """A team's view of the engine, optionally narrowed to one end user's connections.

    Args:
        engine: The engine.
        team: The team every call is scoped to (another team's connection is not found).
        end_user_id: Only this end user's connections; None for all the team's.
    """

    def __init__(self, engine: Engine, team: str, end_user_id: str | None = None) -> None:
        self.engine = engine
        self.team = team
        self.end_user_id = end_user_id

    def __repr__(self) -> str:
        return f"TeamSource(team={self.team!r}, end_user_id={self.end_user_id!r})"

    def get_connection(self, connection_id: str) -> ConnectionInfo:
        """Describe one of the team's (end user's) connections.

        Args:
            connection_id: Its id.

        Returns:
            The connection, secrets masked.

        Raises:
            ConnectionNotFound: No such connection for this team (and end user).
        """
        info = self.engine.get_connection(connection_id, team=self.team)
        if self.end_user_id is not None and info.end_user_id != self.end_user_id:
            raise ConnectionNotFound(f"No connection with id '{connection_id}' for end user '{self.end_user_id}'.")
        return info

    def list_actions(self, connection_id: str) -> list[ActionInfo]:
        """List a connection's actions.

        Args:
            connection_id: The connection.

        Returns:
            The actions.
        """
        return self.engine.list_actions(connection_id, team=self.team)

    def run_action(self, connection_id: str, action: str, inputs: Mapping[str, Any] | None = None) -> ActionResult:
        """Run an action of one of the team's connections.

        Args:
            connection_id: The connection.
            action: The action code.
            inputs: The inputs.

        Returns:
            The result.
        """
        return self.engine.run_action(connection_id, action, inputs, team=self.team)

    def active_connections(self) -> list[ConnectionInfo]:
        """The team's (end user's) active connections, oldest first so that tool names stay put.

        Returns:
            The connections.
        """
        found: list[ConnectionInfo] = []
        page = 0
        while True:
            listed = self.engine.list_connections(
                page_number=page, page_size=_PAGE, team=self.team, end_user_id=self.end_user_id
            )
            found += listed.results
            if len(listed.results) < _PAGE:
                break
            page += 1
        return [c for c in reversed(found) if c.status is ConnectionStatus.ACTIVE]


def _values(request: Request, name: str) -> list[str]:
    return [v for raw in request.query_params.getlist(name) for v in _SPLIT.split(raw) if v]


def _error(exc: PlughubError, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(exc.to_dict(), status_code=exc.status_code, headers=headers)


def _toolset_for(engine: Engine, team: str, request: Request) -> Toolset:
    header = request.headers.get(END_USER_HEADER, "").strip() or None
    queried = request.query_params.get("end_user_id", "").strip() or None
    if header and queried and header != queried:
        raise InvalidInput(
            f"the {END_USER_HEADER} header ({header!r}) and ?end_user_id= ({queried!r}) name different end users; "
            "send one of them"
        )
    source = TeamSource(engine, team, header or queried)
    ids, actions = _values(request, "connection"), _values(request, "action")
    toolset = Toolset(source, ids or source.active_connections, actions or None)
    if ids or actions:
        toolset.check()  # unknown ids (another team's too) and codes answer 404 before MCP starts
    return toolset


def team_endpoint(engine: Engine, authenticate: Callable[[Request], ApiKeyRecord]) -> StreamableHTTPEndpoint:
    """Build the `/mcp` endpoint of `plughub serve`.

    Every request needs the team's API key (`Authorization: Bearer <key>`). The tools are the actions
    of the team's active connections, narrowed by the request: an end user (`X-End-User-Id: <id>` or
    `?end_user_id=<id>`), connections (`?connection=<id>`, repeatable) and action codes
    (`?action=<code>`, repeatable). Unknown connection ids (another team's among them) and action
    codes answer 404, a connection that is not active 409, all as the server's JSON errors.

    Args:
        engine: The server's engine.
        authenticate: The server's API key check (`plughub.server.security.require_key`): returns the
            key's record, or raises `AuthenticationError`.

    Returns:
        The endpoint: route `/mcp` to it and enter its `lifespan()` in the application's lifespan.
    """

    async def prepare(request: Request) -> Toolset | Response:
        try:
            key = await anyio.to_thread.run_sync(authenticate, request)
            return await anyio.to_thread.run_sync(_toolset_for, engine, key.team_id, request)
        except PlughubError as exc:
            challenge = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
            return _error(exc, challenge)

    # No Host/Origin checks: behind its API key, the server answers to whatever name it is reached by.
    return StreamableHTTPEndpoint(prepare=prepare)
