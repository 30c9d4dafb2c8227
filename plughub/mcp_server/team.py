"""`/mcp` in `plughub serve`: a team's connections as MCP tools, behind the team's API key."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from plughub.enums import ConnectionStatus
from plughub.exceptions import AuthenticationError, ConnectionNotFound, InvalidInput, PlughubError
from plughub.mcp_server.server import StreamableHTTPEndpoint
from plughub.mcp_server.toolset import Toolset
from plughub.origins import OriginPolicy
from plughub.schemas import ActionInfo, ActionResult, ConnectionInfo

if TYPE_CHECKING:
    from plughub.engine import Engine
    from plughub.engine.teams import ApiKeyRecord

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
        info = self.engine.connections.get(connection_id, team=self.team)
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
        return self.engine.actions.list(connection_id, team=self.team)

    def run_action(self, connection_id: str, action: str, inputs: Mapping[str, Any] | None = None) -> ActionResult:
        """Run an action of one of the team's connections.

        Args:
            connection_id: The connection.
            action: The action code.
            inputs: The inputs.

        Returns:
            The result.
        """
        return self.engine.actions.run(connection_id, action, inputs, team=self.team)

    def active_connections(self) -> list[ConnectionInfo]:
        """The team's (end user's) active connections, oldest first so that tool names stay put.

        Returns:
            The connections.
        """
        found: list[ConnectionInfo] = []
        page = 0
        while True:
            listed = self.engine.connections.list(
                page_number=page, page_size=_PAGE, team=self.team, end_user_id=self.end_user_id
            )
            found += listed.results
            if len(listed.results) < _PAGE:
                break
            page += 1
        return [c for c in reversed(found) if c.status is ConnectionStatus.ACTIVE]


def _values(request: Request, name: str) -> list[str]:
    return [v for raw in request.query_params.getlist(name) for v in _SPLIT.split(raw) if v]


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


def _origin_refused(origin: str) -> Response:
    message = (
        f"a page at {origin} may not use this server's /mcp (the Origin header is neither this server's own "
        "nor in PLUGHUB_MCP_ALLOWED_ORIGINS)"
    )
    return JSONResponse({"error": "origin_not_allowed", "message": message, "details": {"origin": origin}}, 403)


def team_endpoint(
    engine: Engine,
    authenticate: Callable[[Request], ApiKeyRecord],
    answer_error: Callable[[PlughubError], Response],
    *,
    public_url: str | None = None,
    allowed_origins: Collection[str] = (),
) -> StreamableHTTPEndpoint:
    """Build the `/mcp` endpoint of `plughub serve`.

    Every request needs the team's API key (`Authorization: Bearer <key>`). The tools are the actions
    of the team's active connections, narrowed by the request: an end user (`X-End-User-Id: <id>` or
    `?end_user_id=<id>`), connections (`?connection=<id>`, repeatable) and action codes
    (`?action=<code>`, repeatable). Unknown connection ids (another team's among them) and action
    codes answer 404, a connection that is not active 409, all as the server's JSON errors. A request
    from a web page (an `Origin` header) is refused (403) unless the page is the server's own
    (`public_url`, or the `Host` it was reached by) or its origin is allowed.

    Args:
        engine: The server's engine.
        authenticate: The server's API key check (`plughub.server.security.require_key`): returns the
            key's record, or raises `AuthenticationError`.
        answer_error: The server's answer to an error (`plughub.server.errors.error_response`: the
            JSON error shape with the status of its class).
        public_url: Where people reach the server (`PLUGHUB_PUBLIC_URL`), if set.
        allowed_origins: More origins whose pages may call (`PLUGHUB_MCP_ALLOWED_ORIGINS`); `*` for any.

    Returns:
        The endpoint: route `/mcp` to it and enter its `lifespan()` in the application's lifespan.
    """
    origins = OriginPolicy(public_url, allowed_origins)

    async def prepare(request: Request) -> Toolset | Response:
        origin = request.headers.get("origin")
        if not origins.allows(origin, request.headers.get("host")):
            return _origin_refused(str(origin))
        try:
            key = await anyio.to_thread.run_sync(authenticate, request)
            return await anyio.to_thread.run_sync(_toolset_for, engine, key.team_id, request)
        except PlughubError as exc:
            answer = answer_error(exc)
            if isinstance(exc, AuthenticationError):
                answer.headers["WWW-Authenticate"] = "Bearer"
            return answer

    # No Host check (the SDK's DNS-rebinding settings): behind its API key, the server answers to whatever
    # name it is reached by; the Origin check above keeps other sites' pages out.
    return StreamableHTTPEndpoint(prepare=prepare)
