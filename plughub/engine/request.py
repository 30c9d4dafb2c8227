"""Render an action and its inputs into an HTTP request (no credentials: those come from auth)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from plughub.engine.catalog.models import ActionSpec, InputSpec, IntegrationSpec
from plughub.engine.catalog.templates import render, variables

__all__ = ["build_request", "flatten", "input_location", "resolve_base_url"]

_NO_BODY = ("GET", "DELETE", "HEAD")


def input_location(action: ActionSpec, name: str, spec: InputSpec) -> str:
    """Where an input goes: its `in`, else the path if the template uses it, else query or body.

    Args:
        action: The action.
        name: The input's name.
        spec: The input.

    Returns:
        `path`, `query`, `header` or `body`.
    """
    if spec.location:
        return spec.location
    if any(var == ("inputs", name) for var in variables(action.path)):
        return "path"
    return "query" if action.method in _NO_BODY else "body"


def resolve_base_url(spec: IntegrationSpec, config: Mapping[str, Any], override: str | None = None) -> str:
    """Render the base URL a connection talks to.

    Args:
        spec: The integration.
        config: The connection's config values.
        override: A connection's own `base_url`, if it has one.

    Returns:
        The base URL.
    """
    return render(override or spec.base_url, {"connection_config": config})


def flatten(key: str, value: Any, *, explode: bool = True) -> list[tuple[str, str]]:
    """Turn a value into form or query pairs.

    Booleans become `true`/`false`; lists of scalars repeat the key (or join with commas when
    `explode` is false); objects nest with brackets (`metadata[plan]=pro`), the convention of
    Stripe, Twilio and Rails-style APIs.

    Args:
        key: The parameter name.
        value: The value.
        explode: Whether a list repeats the key.

    Returns:
        The pairs; None values are left out.
    """
    if value is None:
        return []
    if isinstance(value, Mapping):
        return [pair for k, v in value.items() for pair in flatten(f"{key}[{k}]", v)]
    if isinstance(value, (list, tuple)):
        if all(not isinstance(v, (Mapping, list, tuple)) for v in value):
            if not explode:
                return [(key, ",".join(_scalar(v) for v in value))]
            return [(key, _scalar(v)) for v in value]
        return [pair for i, v in enumerate(value) for pair in flatten(f"{key}[{i}]", v)]
    return [(key, _scalar(value))]


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def build_request(
    spec: IntegrationSpec,
    action: ActionSpec,
    inputs: Mapping[str, Any],
    config: Mapping[str, Any],
    *,
    base_url: str | None = None,
) -> httpx.Request:
    """Build the request an action sends.

    Args:
        spec: The integration.
        action: The action.
        inputs: Validated inputs.
        config: The connection's config values.
        base_url: The connection's base URL override.

    Returns:
        The request, without credentials.
    """
    base = (
        render(action.base_url, {"connection_config": config})
        if action.base_url
        else resolve_base_url(spec, config, base_url)
    )
    # Path defaults (and consts) fill the template when the caller leaves them out.
    path_values = {
        name: _value(action, name, spec, inputs)
        for name, spec in action.inputs.items()
        if input_location(action, name, spec) == "path"
    }
    path = render(action.path, {"inputs": path_values}, escape=lambda v: quote(v, safe=""))
    url = base.rstrip("/") + path if path.startswith("/") else base + path
    query: list[tuple[str, str | int | float | bool | None]] = []
    headers = {k: render(v, {"connection_config": config}) for k, v in spec.headers.items()}
    headers.update(action.headers)
    body: dict[str, Any] = {}
    for name, input_spec in action.inputs.items():
        value = _value(action, name, input_spec, inputs)
        if value is None:
            continue
        wire = input_spec.alias or name
        where = input_location(action, name, input_spec)
        if where == "query":
            query.extend(flatten(wire, value, explode=input_spec.explode))
        elif where == "header":
            headers[wire] = value if isinstance(value, str) else json.dumps(value)
        elif where == "body":
            body[wire] = value
    if action.body_root and body:
        body = {action.body_root: body}
    kwargs: dict[str, Any] = {}
    if body:
        if action.body_encoding == "json":
            kwargs["json"] = body
        elif action.body_encoding == "form":
            kwargs["data"] = _pairs_to_form(pair for k, v in body.items() for pair in flatten(k, v))
        else:
            kwargs["files"] = [
                (k, (None, v if isinstance(v, (str, bytes)) else json.dumps(v))) for k, v in body.items()
            ]
    return httpx.Request(action.method, url, params=query, headers=headers, **kwargs)


def _value(action: ActionSpec, name: str, spec: InputSpec, inputs: Mapping[str, Any]) -> Any:
    """The value to send: the input given; else its `const`; else, for a path input, its default.

    Other defaults are documentation: the service applies its own.
    """
    if inputs.get(name) is not None:
        return inputs[name]
    schema = spec.model_extra or {}
    if "const" in schema:
        return schema["const"]
    if input_location(action, name, spec) == "path":
        return schema.get("default")
    return None


def _pairs_to_form(pairs: Any) -> dict[str, Any]:
    form: dict[str, Any] = {}
    for key, value in pairs:
        if key in form:
            existing = form[key]
            form[key] = [*existing, value] if isinstance(existing, list) else [existing, value]
        else:
            form[key] = value
    return form
