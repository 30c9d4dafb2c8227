"""Connections as tools whose actions run against the real service."""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

from plughub.enums import ConnectionStatus, Function, FunctionType, ResponseStatus, Supplier
from plughub.exceptions import ActionNotFound, ConnectionStateError, InvalidInput, error_class
from plughub.modules.model import Model, ModelResponse
from plughub.modules.model.connect_action import PROXY, ConnectAction, action_inputs
from plughub.modules.model.ranking import rank_actions, select_actions
from plughub.modules.model.subscription import Subscription
from plughub.modules.model.tools import parse_tool_call, refused_call, tool_code, tool_result
from plughub.modules.model.utils import action_response, check_positive, connect_response
from plughub.schemas import ActionInfo, ConnectionInfo, DeleteResult, ProxyResponse, SubscribeRequest, TriggerInfo
from plughub.tool_schemas import build_tools, restore_arguments

__all__ = ["ConnectAction", "ConnectionTool", "ProxyResponse"]


class ConnectionTool(Model):
    """A connection: credentials held by plughub, and actions to run with them.

    Args:
        id: The connection id.
        name: Its name.
        description: What it is for.
        api_key: The plughub server key for this object's calls (remote backend only).
        supplier: Who provides the service.
        version: Kept for aiXplain parity.
        function: What it does (`Function.UTILITIES`).
        is_subscribed: Kept for aiXplain parity.
        cost: Kept for aiXplain parity.
        function_type: `FunctionType.CONNECTION` or `FunctionType.MCP_CONNECTION`.
        **additional_info: More fields; `connection` (a `ConnectionInfo`) and `backend` are used.

    Raises:
        AssertionError: Another `function_type`.
    """

    def __init__(
        self,
        id: str,
        name: str,
        description: str = "",
        api_key: str | None = None,
        supplier: dict[str, Any] | str | Supplier | int = "plughub",
        version: str | None = None,
        function: Function | None = None,
        is_subscribed: bool = False,
        cost: dict[str, Any] | None = None,
        function_type: FunctionType | None = FunctionType.CONNECTION,
        **additional_info: Any,
    ) -> None:
        if function_type not in (FunctionType.CONNECTION, FunctionType.MCP_CONNECTION):
            raise AssertionError("Connection only supports connection function")
        self._connection: ConnectionInfo | None = additional_info.pop("connection", None)
        super().__init__(
            id=id,
            name=name,
            description=description,
            api_key=api_key,
            supplier=supplier,
            version=version,
            function=function or Function.UTILITIES,
            is_subscribed=is_subscribed,
            cost=cost,
            function_type=function_type,
            **additional_info,
        )
        self._actions: list[ConnectAction] | None = None
        self.action_scope: list[ConnectAction] | None = None
        # Set by `as_tools`, read by `run_tool_call`: the tool names it gave, and strict schemas.
        self._tool_names: dict[str, str] = {}
        self._strict_schemas: dict[str, dict[str, Any]] = {}

    @property
    def connection(self) -> ConnectionInfo:
        """The connection as stored (secrets masked), fetched again on each access."""
        self._connection = self.backend.get_connection(self.id)
        return self._connection

    @property
    def integration_id(self) -> str:
        """The id of the integration this connection belongs to."""
        return (self._connection or self.connection).integration_id

    @property
    def status(self) -> ConnectionStatus:
        """The connection's current status (pending, active, failed, expired)."""
        return self.connection.status

    @property
    def actions(self) -> list[ConnectAction]:
        """The actions of the connection's integration."""
        if self._actions is None:
            self._actions = [
                ConnectAction(name=a.name, description=a.description, code=a.code)
                for a in self.backend.list_actions(self.id)
            ]
        return self._actions

    @actions.setter
    def actions(self, value: list[ConnectAction]) -> None:
        self._actions = list(value)

    def _code(self, action: ConnectAction | str) -> str:
        code = action.code if isinstance(action, ConnectAction) else action
        if not code:
            raise InvalidInput("the action has no code; pass an action from ConnectionTool.actions or its code")
        allowed = self._scope_codes()
        if allowed is not None and not any(c and (c == code or c.endswith("_" + code)) for c in allowed):
            raise ActionNotFound(
                f"action '{code}' is outside this connection's action_scope; "
                f"allowed: {', '.join(sorted(c for c in allowed if c))}"
            )
        return code

    def get_action_inputs(self, action: ConnectAction | str) -> dict[str, Any]:
        """Describe an action's inputs.

        Args:
            action: The action or its code.

        Returns:
            Inputs keyed by code, each with `name`, `description`, `datatype`, `required`,
            `default`, `enum`, `location` and its JSON `schema`.

        Raises:
            ActionNotFound: The connection has no such action.
        """
        if isinstance(action, ConnectAction) and action.inputs:
            return action.inputs
        info = self.backend.get_action(self.id, self._code(action))
        inputs = action_inputs(info)
        for known in self._actions or []:
            if known.code == info.code:
                known.inputs = inputs
        return inputs

    def run(
        self,
        action: ConnectAction | str,
        inputs: dict[str, Any] | None = None,
        *,
        data: dict[str, Any] | None = None,
        paginate: bool = False,
        max_pages: int = 10,
    ) -> ModelResponse:
        """Run an action against the service.

        Args:
            action: The action or its code.
            inputs: The action's inputs.
            data: Alias of `inputs` (aiXplain examples use it).
            paginate: Read the action's pages (it must declare `pagination`): `data` is the list of
                every item, `details["pages"]` how many pages were read, `details["truncated"]`
                whether more remain after `max_pages`.
            max_pages: The most pages a paginated run reads.

        Returns:
            SUCCESS with the service's answer in `data`; FAILED with `error_message`,
            `error_code` and the upstream status in `details` when the service refused or could
            not be reached (a paginated run: the first page that failed).

        Raises:
            ActionNotFound: No such action, or outside `action_scope`.
            ValueError: The inputs break the action's schema (nothing is sent), or `paginate` is
                asked of an action that does not paginate.
        """
        payload = inputs if inputs is not None else data
        code = self._code(action)
        if not paginate:
            return action_response(self.backend.run_action(self.id, code, payload or {}))
        check_positive("max_pages", max_pages)
        result = self.backend.run_action(self.id, code, payload or {}, paginate=True, max_pages=max_pages)
        return action_response(result)

    def iterate(
        self,
        action: ConnectAction | str,
        inputs: dict[str, Any] | None = None,
        max_items: int | None = None,
        max_pages: int | None = None,
    ) -> Iterator[Any]:
        """Yield an action's items page after page, each page fetched when the items before it are used.

        Args:
            action: The action or its code (it must declare `pagination`).
            inputs: The action's inputs.
            max_items: Stop after this many items (no further page is fetched).
            max_pages: Stop after this many pages.

        Yields:
            The items, in order.

        Raises:
            ActionNotFound: No such action, or outside `action_scope`.
            ValueError: The inputs break the action's schema, the action does not paginate, or a
                limit is not a positive integer.
            ActionError: A page failed (its error: `UpstreamStatusError`, `UpstreamError`, ...), or a
                next page's link pointed to another host (`UpstreamRedirect`); the items before it
                were yielded.
        """
        check_positive("max_items", max_items)
        check_positive("max_pages", max_pages)
        code = self._code(action)
        given = 0
        pages = self.backend.iterate_action(self.id, code, inputs or {}, max_pages=max_pages)
        try:
            for result in pages:
                if result.status is not ResponseStatus.SUCCESS:
                    details = dict(result.details)
                    raise error_class(result.error_code or "action_error")(result.error_message or "", details=details)
                for item in result.data or []:
                    if max_items is not None and given >= max_items:
                        return
                    given += 1
                    yield item
                if max_items is not None and given >= max_items:
                    return
        finally:
            close = getattr(pages, "close", None)
            if close is not None:
                close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> ProxyResponse:
        """Send any request to the connection's service with its credentials (the proxy).

        For the endpoints no action covers: `path` is relative to the connection's base URL, and
        the request gets the connection's credentials, the network guard, retries of idempotent
        methods, same-origin redirects, masking of echoed secrets and the audit (action `PROXY`).

        Args:
            method: GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS.
            path: Relative to the base URL (`/user/repos`), or an absolute URL on its origin.
            params: Query parameters.
            json: A JSON body.
            data: A form body (a mapping) or a text one.
            headers: More headers (not `Authorization`, the scheme's own, or hop-by-hop ones).

        Returns:
            The answer, whatever its status (`ok` is false for a non-2xx one).

        Raises:
            ValueError: The request is refused, nothing sent: another origin, dot segments, a
                reserved header or query name, an MCP connection, or an `action_scope` without `PROXY`.
            ActionError: The service could not be reached, redirected elsewhere, or the network guard refused it.
        """
        allowed = self._scope_codes()
        if allowed is not None and PROXY not in allowed:
            raise InvalidInput(
                f'this connection\'s action_scope does not include {PROXY}: add "{PROXY}" to action_scope to send '
                "requests outside its actions; nothing was sent"
            )
        return self.backend.proxy(self.id, method, path, params=params, json=json, data=data, headers=headers)

    def get_parameters(self) -> list[dict[str, Any]]:
        """Describe the actions in `action_scope` with their inputs (for agents).

        Returns:
            One dict per action with `code`, `name`, `description` and `inputs`; an empty list
            (with a warning) when no scope is set.
        """
        if not self.action_scope:
            warnings.warn(
                f"No action_scope is specified, by default all {len(self.actions)} actions will be included "
                "in Agent execution",
                UserWarning,
                stacklevel=2,
            )
            return []
        return [
            {"code": a.code, "name": a.name, "description": a.description, "inputs": self.get_action_inputs(a)}
            for a in self.action_scope
        ]

    def _scope_codes(self) -> set[str | None] | None:
        if not self.action_scope:
            return None
        return {a.code if isinstance(a, ConnectAction) else a for a in self.action_scope}

    def _scoped_infos(self) -> list[ActionInfo]:
        infos = self.backend.list_actions(self.id)
        allowed = self._scope_codes()
        return infos if allowed is None else [i for i in infos if i.code in allowed]

    def as_tools(
        self,
        format: str = "openai",
        strict: bool = False,
        *,
        max_tools: int | None = None,
        query: str | None = None,
    ) -> list[dict[str, Any]]:
        """Describe the actions (those in `action_scope`, when set) as tools for an LLM API.

        Args:
            format: `openai` (chat completions function tools), `openai-responses` (the Responses
                API's function tools), `anthropic` (tools with `input_schema`) or `mcp`.
            strict: OpenAI strict mode (both OpenAI formats): every property required, optional
                ones nullable, `additionalProperties: false` everywhere; `run_tool_call` turns the
                model's nulls and JSON text back into the action's inputs.
            max_tools: The most tools to return (the best matches of `query`, else the first ones).
            query: What the agent should do ("create an issue"): only the actions that match it, best
                first (see `find_actions`).

        Returns:
            The tool definitions; names fit each API's limits and schemas are cleaned of keywords
            the API rejects.

        Raises:
            ValueError: An unknown format, `strict` with a format that is not OpenAI's, a
                `max_tools` that is not a positive integer, or an empty query.
        """
        infos = select_actions(self._scoped_infos(), max_tools=max_tools, query=query)
        tools, names = build_tools(infos, format, strict=strict)
        self._tool_names = names
        # Strict arguments need undoing against each action's own schema (see run_tool_call).
        self._strict_schemas = {info.code: info.input_schema for info in infos} if strict else {}
        return tools

    def find_actions(self, query: str, limit: int = 5) -> list[ConnectAction]:
        """Find the actions (in `action_scope`, when set) that best match what an agent wants to do.

        A simple lexical ranking, the same for the same actions: words of the query found in an
        action's code or name count more than words found in its description, rare words more than
        common ones, and a common verb's synonym ("add" for "create") counts half.

        Args:
            query: What the agent wants to do ("create an issue").
            limit: The most actions to return.

        Returns:
            The best matches first; actions that match no word of the query are left out.

        Raises:
            ValueError: An empty query, or a `limit` under 1.
        """
        allowed = self._scope_codes()
        candidates = [a for a in self.actions if allowed is None or a.code in allowed]
        return rank_actions(query, candidates, limit)

    def run_tool_call(self, call: Any) -> dict[str, Any]:
        """Run a tool call an LLM made, and return the message that carries its result back.

        Args:
            call: An OpenAI chat-completions tool call, an OpenAI Responses `function_call` item,
                or an Anthropic `tool_use` block (a dict or the SDK's object).

        Returns:
            The result in the shape the API expects (`role: tool`, `function_call_output` or
            `tool_result`); a failed action is reported as an error result, not raised.

        Raises:
            ValueError: The call is malformed or names a tool this connection does not offer.
        """
        shape, call_id, name, arguments = parse_tool_call(call)
        code = tool_code(name, self._tool_names or build_tools(self._scoped_infos(), "openai")[1])
        if code in self._strict_schemas:
            arguments = restore_arguments(arguments, self._strict_schemas[code])
        try:
            response = self.run(code, arguments)
        except ValueError as exc:  # invalid arguments: the model gets the message and can retry
            response = refused_call(exc)
        return tool_result(call_id, response, shape)

    def wait_until_active(self, timeout: float = 300.0, poll_interval: float = 0.5) -> ConnectionTool:
        """Wait for a pending connection to become active (the user gave consent).

        Args:
            timeout: Seconds to wait.
            poll_interval: Seconds between checks.

        Returns:
            The tool itself, active.

        Raises:
            ConnectionStateError: The connection failed or expired (the reason is in the message).
            TimeoutError: It was still pending after `timeout` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            info = self.connection
            if info.status is ConnectionStatus.ACTIVE:
                return self
            if info.status in (ConnectionStatus.FAILED, ConnectionStatus.EXPIRED):
                raise ConnectionStateError(
                    f"connection {self.id} is {info.status.value}: {info.error or 'no reason given'}"
                )
            if time.monotonic() >= deadline:
                raise TimeoutError(f"connection {self.id} is still {info.status.value} after {timeout:g} s")
            time.sleep(poll_interval)

    def reconnect(self, scopes: list[str] | None = None) -> ModelResponse:
        """Ask for consent again (new scopes, a revoked or expired grant), keeping the connection id.

        An active connection keeps working with its old tokens until the new consent completes.

        Args:
            scopes: Scopes to ask for; None for the app's or the definition's.

        Returns:
            A SUCCESS response whose `data["redirectURL"]` is the provider's consent page.

        Raises:
            ValueError: The connection does not use an OAuth authorization flow.
        """
        response = connect_response(self.backend.reconnect(self.id, scopes))
        warnings.warn(
            "Before using the tool, please visit the following URL to complete the connection: "
            f"{response.data['redirectURL']}",
            UserWarning,
            stacklevel=2,
        )
        return response

    @property
    def triggers(self) -> list[TriggerInfo]:
        """What the connection can tell you about: its integration's triggers, with their config inputs."""
        return self.backend.list_triggers(self.id)

    def subscribe(
        self, code: str, config: dict[str, Any] | None = None, target_url: str | None = None, wait: float = 30
    ) -> Subscription:
        """Switch a trigger on for this connection.

        A webhook trigger's `webhook_url` is where the provider posts; when the trigger says how,
        plughub registers it at the provider in a job: the subscription is `pending` until then,
        and this call waits up to `wait` seconds for it (a job still running then leaves it
        `pending`: see `Subscription.refresh()`). Each event is stored, then pushed to `target_url`
        (signed per Standard Webhooks with `secret`), or pulled with `Subscription.events`.

        Args:
            code: The trigger code (see `triggers`; the integration prefix may be left out).
            config: The trigger's config values (like action inputs).
            target_url: Where to push events; None to pull them.
            wait: Seconds to wait for the provider's registration (0 to 30; 0 returns `pending`).

        Returns:
            The subscription, with `webhook_secret` and `secret` set (this object only: they are
            never shown again).

        Raises:
            TriggerNotFound: The integration has no such trigger.
            MissingInputs: Required config values are missing.
            InvalidInput: A config value breaks its schema, `target_url` is not http(s), or
                `wait` is out of range.
            ActionError: The provider refused to register the webhook, at every attempt (the
                subscription is kept as `failed`, its id in the error's `details`).
        """
        request = SubscribeRequest(trigger=code, config=config, target_url=target_url)
        return Subscription.of(self.backend.subscribe(self.id, request, wait=wait), self.backend)

    def delete(self, wait: float = 30) -> DeleteResult:
        """Delete the connection and its credentials, revoking OAuth tokens at the provider first.

        When plughub registered webhooks at the provider for its subscriptions, they are removed
        first by jobs (with retries), while the tokens still work: the connection is gone for
        every call from now on, and this call waits up to `wait` seconds for the jobs. A failed
        revocation is reported with a `UserWarning` (and in the result); the connection is
        deleted anyway.

        Args:
            wait: Seconds to wait for the unsubscribe jobs (0 to 30; 0 may return
                `status="deleting"`).

        Returns:
            `status` (`deleted`, or `deleting` while the jobs run), whether the tokens were
            revoked (None when not known yet), and why not when they were not.

        Raises:
            ConnectionNotFound: It no longer exists.
            InvalidInput: `wait` is out of range.
        """
        result = self.backend.delete_connection(self.id, wait=wait)
        if result.revocation_error:
            warnings.warn(
                f"Connection {self.id} was deleted, but the provider did not revoke its tokens: "
                f"{result.revocation_error}",
                UserWarning,
                stacklevel=2,
            )
        return result

    def __repr__(self) -> str:
        return f"ConnectionTool(id={self.id}, name={self.name})"
