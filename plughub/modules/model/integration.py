"""Integrations and how to connect to them (aiXplain's `aixplain.modules.model.integration`)."""

from __future__ import annotations

import warnings
from typing import Any

from pydantic import BaseModel

from plughub.enums import AuthenticationSchema, Function, FunctionType, Supplier
from plughub.exceptions import InvalidInput
from plughub.modules.model import Model, ModelResponse
from plughub.modules.model.utils import connect_response
from plughub.schemas import ConnectRequest, IntegrationInfo, OAuthAppInfo, is_mcp_integration

__all__ = ["AuthenticationSchema", "BaseAuthenticationParams", "Integration", "build_connector_params"]


class BaseAuthenticationParams(BaseModel):
    """Common connect parameters.

    Attributes:
        name: A name for the connection.
        description: What the connection is for.
        connector_id: The integration's id; when given it must be this integration's.
    """

    name: str | None = None
    description: str | None = None
    connector_id: str | None = None


def build_connector_params(**kwargs: Any) -> BaseAuthenticationParams:
    """Build connect parameters from keyword arguments, ignoring any others.

    Args:
        **kwargs: `name`, `description` and `connector_id` are read; the rest is ignored.

    Returns:
        The parameters.

    Example:
        >>> build_connector_params(name="My Connection", connector_id="123").name
        'My Connection'
    """
    return BaseAuthenticationParams(
        name=kwargs.get("name"), description=kwargs.get("description"), connector_id=kwargs.get("connector_id")
    )


class Integration(Model):
    """A catalog entry for an external service, which users connect to.

    Args:
        id: The integration id (`github`).
        name: Its display name.
        description: What the service is.
        api_key: The plughub server key for this object's calls (remote backend only).
        supplier: The company behind the service.
        version: Its version, if any.
        function: What it does (`Function.CONNECTOR`).
        is_subscribed: Kept for aiXplain parity.
        cost: Kept for aiXplain parity.
        function_type: Must be `FunctionType.INTEGRATION`.
        **additional_info: More fields; `info` (an `IntegrationInfo`) and `backend` are used.

    Raises:
        AssertionError: `function_type` is not `FunctionType.INTEGRATION`.
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
        function_type: FunctionType | None = FunctionType.INTEGRATION,
        **additional_info: Any,
    ) -> None:
        if function_type is not FunctionType.INTEGRATION:
            # Raised explicitly, not with `assert`, so that it survives `python -O`.
            raise AssertionError("Integration only supports connector function")
        self._info: IntegrationInfo | None = additional_info.pop("info", None)
        super().__init__(
            id=id,
            name=name,
            description=description,
            api_key=api_key,
            supplier=supplier,
            version=version,
            function=function or Function.CONNECTOR,
            is_subscribed=is_subscribed,
            cost=cost,
            function_type=function_type,
            **additional_info,
        )

    @property
    def info(self) -> IntegrationInfo:
        """The integration's description from the backend (schemes, inputs, ...)."""
        if self._info is None:
            self._info = self.backend.get_integration(self.id)
        return self._info

    @property
    def authentication_methods(self) -> list[str]:
        """Names of the schemes this integration supports."""
        methods = self.additional_info.get("authentication_methods")
        return list(methods) if methods is not None else self.info.authentication_methods

    def connect(
        self,
        authentication_schema: AuthenticationSchema | str | None = None,
        args: BaseAuthenticationParams | None = None,
        data: dict[str, Any] | str | None = None,
        **kwargs: Any,
    ) -> ModelResponse:
        """Connect to the integration with a scheme.

        Args:
            authentication_schema: The scheme: BEARER_TOKEN (`data={"token": ...}`), API_KEY
                (`{"api_key": ...}`), BASIC (`{"username": ..., "password": ...}`), NO_AUTH,
                OAUTH1 or OAUTH2 (consent in the browser).
            args: Name, description and connector id; built from `kwargs` when omitted.
            data: The scheme's inputs, plus any the integration asks for (a subdomain, a region)
                and an optional `base_url` to point the connection at another host.
            **kwargs: `name`, `description`, `connector_id` when `args` is omitted.

        Returns:
            A SUCCESS response whose `data["id"]` is the connection id (and, for OAuth,
            `data["redirectURL"]`, the provider's consent page).

        For the MCP integration (`mcp`, or aiXplain's id for it), `data` may be the server URL
        alone (`connect(data="https://host/mcp")`) and the scheme may be left out: it is read from
        the data (`token` -> BEARER_TOKEN, `api_key` -> API_KEY, else NO_AUTH).

        Raises:
            ValueError: The scheme is missing or not supported, required inputs are missing (all
                named), inputs are unknown, or `connector_id` is another integration's.
        """
        mcp = is_mcp_integration(self.id)
        if authentication_schema is None and not mcp:
            raise InvalidInput(
                "authentication_schema is required for this integration. Please provide an AuthenticationSchema "
                f"value; {self.name} supports: {', '.join(self.authentication_methods)}."
            )
        scheme = _scheme(authentication_schema) if authentication_schema is not None else None
        params = args if args is not None else build_connector_params(**kwargs)
        if params.connector_id is not None and params.connector_id != self.id:
            raise InvalidInput(
                f"connector_id '{params.connector_id}' is not this integration's id '{self.id}'; "
                "leave it out or get the right integration with IntegrationFactory.get()."
            )
        if mcp and isinstance(data, str):
            data = {"url": data}
        if data is not None and not isinstance(data, dict):
            raise InvalidInput(
                f"data must be a dictionary of connect inputs for {self.name}, not {type(data).__name__}"
            )
        request = ConnectRequest.model_validate(
            {
                "integration_id": self.id,
                "scheme": scheme,
                "name": params.name,
                "description": params.description,
                "data": data or {},
            }
        )
        response = connect_response(self.backend.create_connection(request))
        if "redirectURL" in response.data:
            warnings.warn(
                "Before using the tool, please visit the following URL to complete the connection: "
                f"{response.data['redirectURL']}",
                UserWarning,
                stacklevel=2,
            )
        return response

    def set_oauth_app(
        self,
        client_id: str,
        client_secret: str,
        scopes: list[str] | None = None,
        *,
        signing_secret: str | None = None,
        webhook_secret: str | None = None,
    ) -> OAuthAppInfo:
        """Store the OAuth client plughub is at this provider (sealed in the vault).

        Register an app at the provider with the redirect URI `PLUGHUB_CALLBACK_URL` (default
        `http://127.0.0.1:8765/oauth/callback`) first. The environment variables
        `PLUGHUB_OAUTH_<ID>_CLIENT_ID` / `_CLIENT_SECRET` (and `_SIGNING_SECRET`,
        `_WEBHOOK_SECRET`) are used when no app is stored.

        Args:
            client_id: The client id (consumer key for OAuth 1.0a).
            client_secret: The client secret (consumer secret; the PEM private key for RSA-SHA1).
            scopes: Scopes to ask for; None for the definition's defaults.
            signing_secret: The secret the provider signs the app's webhooks with (Slack's
                signing secret: `${app.signing_secret}` in the definition's `webhooks`). None
                keeps the one stored; `""` removes it.
            webhook_secret: Another such secret (`${app.webhook_secret}`); likewise.

        Returns:
            The app, secrets masked.

        Raises:
            ValueError: The integration has no OAuth scheme, or a value is empty.
        """
        return self.backend.set_oauth_app(
            self.id, client_id, client_secret, scopes, signing_secret=signing_secret, webhook_secret=webhook_secret
        )

    def get_oauth_app(self) -> OAuthAppInfo:
        """Describe the OAuth client in use (stored or from the environment), secret masked.

        Returns:
            The app and its source.

        Raises:
            OAuthAppMissing: None is set.
        """
        return self.backend.get_oauth_app(self.id)

    def delete_oauth_app(self) -> None:
        """Delete the stored OAuth client (environment variables are not touched).

        Raises:
            NotFoundError: None is stored.
        """
        self.backend.delete_oauth_app(self.id)

    def __repr__(self) -> str:
        return f"Integration: {self.name} by {self._supplier_name()} (id={self.id})"


def _scheme(value: AuthenticationSchema | str) -> AuthenticationSchema:
    if isinstance(value, AuthenticationSchema):
        return value
    try:
        return AuthenticationSchema(str(value).upper())
    except ValueError:
        names = ", ".join(s.value for s in AuthenticationSchema)
        raise InvalidInput(f"'{value}' is not an authentication schema; use one of {names}") from None
