"""The proxy: any request to a connection's service, with its credentials (DESIGN.md §9).

For the endpoints nobody wrote an action for. The request goes where the connection's actions go
(its base URL's origin), through the same driver: the credentials, a token refresh, the outbound
guard, retries of idempotent methods, same-origin redirects, secrets the service echoes masked,
and the audit (as action `PROXY`). The answer comes back whatever its status.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from plughub.engine.actions.call import Call, oauth2_of
from plughub.engine.actions.driver import Driver
from plughub.engine.catalog import Catalog
from plughub.engine.connections.service import ConnectionService
from plughub.engine.http.render import integration_headers, resolve_base_url
from plughub.engine.proxy.request import build_proxy_request, reserved_names, response_headers
from plughub.engine.store import LOCAL_TEAM
from plughub.enums import AuthenticationSchema, ConnectionStatus, ResponseStatus
from plughub.exceptions import ConnectionStateError, InvalidInput, error_class
from plughub.schemas import ProxyResponse

__all__ = ["PROXY_ACTION", "ProxyService"]

PROXY_ACTION = "PROXY"


class ProxyService:
    """Sends a caller's own request to a connection's service.

    Args:
        catalog: The integrations.
        connections: Finds a team's connection.
        driver: Signs, sends and audits the request.
    """

    def __init__(self, *, catalog: Catalog, connections: ConnectionService, driver: Driver) -> None:
        self._catalog = catalog
        self._connections = connections
        self._driver = driver

    def __repr__(self) -> str:
        return "ProxyService()"

    def request(
        self,
        connection_id: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | str | bytes | None = None,
        headers: Mapping[str, str] | None = None,
        team: str = LOCAL_TEAM,
    ) -> ProxyResponse:
        """Send a request to the connection's service, with its credentials.

        Args:
            connection_id: The connection.
            method: GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS.
            path: Relative to the connection's base URL (`/user/repos`), or an absolute URL on its origin.
            params: Query parameters.
            json: A JSON body (None: none).
            data: A form body (a mapping) or a raw one (text or bytes).
            headers: More headers (never `Authorization`, the scheme's own, or hop-by-hop ones).
            team: The team that owns the connection.

        Returns:
            The answer, whatever its status (`ok` is false for a non-2xx one).

        Raises:
            ConnectionNotFound: No connection has this id.
            ConnectionStateError: The connection is not active.
            InvalidInput: The request is refused (another origin, dot segments, a reserved
                header or query name, an MCP connection); nothing was sent.
            ActionError: No answer came: `UpstreamTransportError`, `UpstreamRedirect` (to another
                host), `OutboundBlocked` (the network guard), or a refused token refresh.
        """
        record = self._connections.record(connection_id, team)
        spec = self._catalog.spec(record.integration_id, team)
        label = f"{spec.display_name} proxy"
        if spec.protocol == "mcp":
            raise InvalidInput(
                f"connection {record.id} is an MCP connection: it offers tools, not an HTTP API to proxy; run its "
                "tools with run()",
                details={"connection_id": record.id},
            )
        if record.status != ConnectionStatus.ACTIVE.value:
            raise ConnectionStateError(
                f"connection {record.id} is {record.status}"
                + (f" ({record.error})" if record.error else "")
                + "; it must be active to send requests."
            )
        app = self._driver.app(spec, record)
        reserved = reserved_names(spec, AuthenticationSchema(record.scheme))
        base_url = resolve_base_url(spec, record.config, record.base_url)
        build = partial(
            build_proxy_request,
            label,
            base_url,
            method,
            path,
            reserved=reserved,
            default_headers=integration_headers(spec, record.config, app),
            params=params,
            headers=headers,
            json=json,
            data=data,
        )
        first = build()  # refused here, before credentials are opened
        signer = self._driver.signer(record, spec)
        call = Call(label, record, spec, signer, oauth2_of(spec, record), first, build, action=PROXY_ACTION)
        answer = self._driver.drive(call)
        result = answer.result
        self._driver.audit(record, PROXY_ACTION, result)
        if answer.url is None:  # no answer: unreachable, blocked, redirected elsewhere, refresh refused
            raise error_class(result.error_code or "action_error")(result.error_message or "", details=result.details)
        status = result.status_code or 0
        return ProxyResponse(
            status_code=status,
            headers=response_headers(answer.headers, signer.redactor.text),
            data=answer.body,
            ok=result.status is ResponseStatus.SUCCESS,
        )
