"""Attach static credentials (API key, bearer token, basic, cookie) to a request; no I/O."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from plughub.engine.catalog.models import ApplySpec
from plughub.engine.catalog.templates import render
from plughub.engine.http.checks import header_safe
from plughub.engine.http.signing import SigningAuth

__all__ = ["Placement", "StaticAuth", "resolve_placements"]


@dataclass(frozen=True)
class Placement:
    """One credential value and where it goes: `header`, `query` or `cookie`."""

    target: str
    name: str
    value: str

    def __repr__(self) -> str:
        return f"Placement(target={self.target!r}, name={self.name!r}, value='***')"


def resolve_placements(
    items: Sequence[ApplySpec],
    credentials: Mapping[str, Any],
    config: Mapping[str, Any],
    app: Mapping[str, Any] | None = None,
) -> list[Placement]:
    """Render a scheme's apply items with a connection's credentials.

    Args:
        items: The scheme's apply items (defaults filled in).
        credentials: The connection's opened credentials.
        config: The connection's config values.
        app: The non-secret fields of the integration's OAuth app (`${app.client_id}`).

    Returns:
        The concrete placements.
    """
    values = {"credentials": credentials, "connection_config": config, "app": app or {}}
    placements = []
    for item in items:
        if item.basic is not None:
            user = render(item.basic.username, values)
            password = render(item.basic.password, values)
            token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            placements.append(Placement("header", "Authorization", f"Basic {token}"))
            continue
        template = item.format or "${credentials." + next(iter(credentials)) + "}"
        target, name = next((k, getattr(item, k)) for k in ("header", "query", "cookie") if getattr(item, k))
        placements.append(Placement(target, name, render(template, values)))
    return placements


class StaticAuth(SigningAuth):
    """An httpx auth flow that places fixed credential values on every request.

    Args:
        placements: Where each value goes.
    """

    def __init__(self, placements: Sequence[Placement]) -> None:
        self._placements = tuple(placements)

    def __repr__(self) -> str:
        return f"StaticAuth({[(p.target, p.name) for p in self._placements]})"

    @property
    def secret_values(self) -> list[str]:
        """The values placed, for redaction of anything that echoes them."""
        return [p.value for p in self._placements]

    def unsendable(self) -> list[str]:
        """The headers (and the cookie) whose values could not be sent: not printable ASCII on one line.

        Returns:
            Their names; empty when every value can go out.
        """
        return [
            "Cookie" if p.target == "cookie" else p.name
            for p in self._placements
            if p.target in ("header", "cookie") and not header_safe(p.value)
        ]

    def sign(self, request: httpx.Request) -> httpx.Request:
        """Place the credentials.

        Args:
            request: The outgoing request.

        Returns:
            The request with credentials attached.
        """
        params = {}
        cookies = []
        for placement in self._placements:
            if placement.target == "header":
                request.headers[placement.name] = placement.value
            elif placement.target == "query":
                params[placement.name] = placement.value
            else:
                cookies.append(f"{placement.name}={placement.value}")
        if params:
            request.url = request.url.copy_merge_params(params)
        if cookies:
            existing = request.headers.get("Cookie")
            request.headers["Cookie"] = "; ".join(([existing] if existing else []) + cookies)
        return request
