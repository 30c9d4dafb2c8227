"""aiXplain connect bodies as plughub `ConnectRequest`s.

v1 posts `{"name", "description", "authScheme", "data"}` (no `data` for OAuth), v2 posts the
caller's keyword arguments as they are, `Tool(...).save()` leaves the scheme out, and the MCP
integration takes `{"data": "<server url>"}` (AIXPLAIN-WIRE.md §3.4, §4.4, §5).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from plughub.enums import AuthenticationSchema
from plughub.schemas import AuthSchemeInfo, ConnectRequest, IntegrationInfo
from plughub.server.aixplain.errors import AixplainError
from plughub.server.aixplain.ids import MCP_ID

__all__ = ["choose_scheme", "connect_request"]

_OAUTH = (AuthenticationSchema.OAUTH1, AuthenticationSchema.OAUTH2)
# Connect data every scheme accepts besides its own inputs.
_ANY_SCHEME = frozenset({"base_url"})


def _required(scheme: AuthSchemeInfo) -> set[str]:
    return {f.code for f in scheme.inputs if f.required and f.default is None}


def _fits(scheme: AuthSchemeInfo, given: set[str]) -> bool:
    accepted = {f.code for f in scheme.inputs} | _ANY_SCHEME
    return _required(scheme) <= given <= accepted


def choose_scheme(info: IntegrationInfo, data: dict[str, Any]) -> AuthenticationSchema:
    """Pick a scheme for a connect body that names none (v2 `Tool(...).save()`).

    The scheme whose inputs the data fills best wins: every required input given, nothing it does
    not take; among those, the one that needs the most inputs, then a non-OAuth one, then the
    definition's order.

    Args:
        info: The integration.
        data: The connect data.

    Returns:
        The scheme.

    Raises:
        AixplainError: 400 when no scheme fits the data; the message lists each scheme's inputs.
    """
    given = set(data)
    ranked = sorted(
        (-len(_required(s)), s.scheme in _OAUTH, order, s.scheme.value)
        for order, s in enumerate(info.auth_schemes)
        if _fits(s, given)
    )
    if ranked:
        return AuthenticationSchema(ranked[0][3])
    options = "; ".join(
        f"{s.scheme.value} ({', '.join(sorted(_required(s))) or 'no inputs'})" for s in info.auth_schemes
    )
    raise AixplainError(
        400,
        "unsupported_scheme",
        f"no authentication scheme of {info.name} fits the data given ({', '.join(sorted(given)) or 'none'}); "
        f"send authScheme with its inputs in data: {options}",
    )


def _text(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None or isinstance(value, str):
        return value or None
    raise AixplainError(400, "invalid_input", f"{key} must be a string, not {type(value).__name__}")


def connect_request(info: IntegrationInfo, body: dict[str, Any]) -> ConnectRequest:
    """Map a connect body onto a `ConnectRequest`.

    Args:
        info: The integration to connect to.
        body: The body the SDK posted (without `action`).

    Returns:
        The request for `Engine.create_connection`.

    Raises:
        AixplainError: 400 for a malformed body or a scheme the integration does not support.
    """
    data = body.get("data")
    if data is None or (isinstance(data, str) and not data.strip()):
        data = {}
    elif isinstance(data, str) and info.id == MCP_ID:
        data = {"url": data.strip()}
    if not isinstance(data, dict):
        raise AixplainError(
            400,
            "invalid_input",
            'data must be an object of connect inputs, e.g. {"token": "..."}'
            + (" (or, for MCP, the server URL as a string)" if info.id == MCP_ID else ""),
        )
    raw = body.get("authScheme")
    if raw is None:
        scheme = choose_scheme(info, data)
    else:
        try:
            scheme = AuthenticationSchema(str(raw).upper())
        except ValueError:
            scheme = None
        if scheme is None or scheme.value not in info.authentication_methods:
            raise AixplainError(
                400,
                "unsupported_scheme",
                f"{info.name} does not support authScheme {raw!r}; it supports "
                f"{', '.join(info.authentication_methods)}",
            )
    try:
        return ConnectRequest(
            integration_id=info.id,
            scheme=scheme,
            name=_text(body, "name"),
            description=_text(body, "description"),
            data=data,
        )
    except ValidationError as exc:
        problems = "; ".join(str(e.get("msg", "invalid")) for e in exc.errors()[:3])
        raise AixplainError(400, "invalid_input", f"the connect body is invalid: {problems}") from None
