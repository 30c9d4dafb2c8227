"""Render an action and its inputs into an HTTP request (no credentials: those come from auth)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import quote

import httpx

from plughub.engine.catalog.models import ActionSpec, InputSpec, IntegrationSpec
from plughub.engine.catalog.templates import render, variables
from plughub.engine.http.checks import (
    DOT_SEGMENTS,
    explain_unbuildable,
    header_safe,
    header_value_refusal,
    path_value_refusal,
    url_problem,
)
from plughub.exceptions import InvalidInput

__all__ = [
    "DEFAULT_ACCEPT",
    "build_request",
    "check_connection_target",
    "flatten",
    "input_location",
    "integration_headers",
    "resolve_base_url",
]

_NO_BODY = ("GET", "DELETE", "HEAD")
# Sent when neither the integration nor the action says what it accepts: every bundled API answers JSON.
DEFAULT_ACCEPT = "application/json"


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
    app: Mapping[str, Any] | None = None,
    url: str | None = None,
) -> httpx.Request:
    """Build the request an action sends.

    Every path input stays one segment of the path (a `/` in it is sent as `%2F`), so the path
    keeps the template's fixed segments whatever the inputs hold. `Accept: application/json` is
    sent unless the integration's or the action's headers say otherwise.

    Args:
        spec: The integration.
        action: The action.
        inputs: Validated inputs.
        config: The connection's config values.
        base_url: The connection's base URL override.
        app: The non-secret fields of the integration's OAuth app (`${app.client_id}` in headers).
        url: Send to this URL (a next page's link, which carries the query) instead of the
            action's path and query inputs.

    Returns:
        The request, without credentials.

    Raises:
        InvalidInput: An input cannot be sent as it is (a path value that is empty, `.` or `..`,
            a header value with a line break or beyond ASCII, text that is not valid Unicode, a
            URL too long), or the connection's base URL is not valid; nothing is sent.
    """
    base = (
        render(action.base_url, {"connection_config": config})
        if action.base_url
        else resolve_base_url(spec, config, base_url)
    )
    try:
        return _build(spec, action, inputs, config, base, app or {}, url)
    except (httpx.InvalidURL, UnicodeError) as exc:  # an IDNA error is a UnicodeError
        in_url = [
            name for name, item in action.inputs.items() if input_location(action, name, item) in ("path", "query")
        ]
        raise explain_unbuildable(_code(spec, action), exc, base, inputs, in_url) from None


def integration_headers(
    spec: IntegrationSpec, config: Mapping[str, Any], app: Mapping[str, Any], *extra: Mapping[str, str]
) -> dict[str, str]:
    """The headers every request of a connection carries: the integration's, then `extra`, then Accept.

    Args:
        spec: The integration.
        config: The connection's config values.
        app: The non-secret fields of the integration's OAuth app.
        *extra: More headers, each overriding what comes before (an action's own).

    Returns:
        The headers; `Accept: application/json` unless one of them names Accept.

    Raises:
        InvalidInput: A rendered value cannot be a header value (a line break).
    """
    headers = {k: _config_header(spec, k, v, config, app) for k, v in spec.headers.items()}
    for more in extra:
        headers.update(more)
    if not any(name.lower() == "accept" for name in headers):
        headers["Accept"] = DEFAULT_ACCEPT
    return headers


@dataclass(frozen=True)
class _Plan:
    """What a request of an action needs that its inputs do not change, worked out once per action.

    Attributes:
        spec: The integration (the plan is valid for this object only).
        action: The action (likewise).
        inputs: Each input's name, definition, name on the wire and location.
        path: The names of the path inputs.
        headers: The integration's and the action's headers with Accept, when no template fills
            them (None: rendered for each request).
    """

    spec: IntegrationSpec
    action: ActionSpec
    inputs: tuple[tuple[str, InputSpec, str, str], ...]
    path: tuple[str, ...]
    headers: dict[str, str] | None


_plans: dict[tuple[int, int], _Plan] = {}
_MAX_PLANS = 1024  # definitions loaded again make new objects: forget the old plans past this


def _plan(spec: IntegrationSpec, action: ActionSpec) -> _Plan:
    plan = _plans.get((id(spec), id(action)))
    if plan is not None and plan.spec is spec and plan.action is action:
        return plan
    located = tuple(
        (name, item, item.alias or name, input_location(action, name, item)) for name, item in action.inputs.items()
    )
    static = all("${" not in value for value in spec.headers.values())
    plan = _Plan(
        spec,
        action,
        located,
        tuple(name for name, _item, _wire, where in located if where == "path"),
        integration_headers(spec, {}, {}, action.headers) if static else None,
    )
    if len(_plans) >= _MAX_PLANS:
        _plans.clear()
    _plans[(id(spec), id(action))] = plan
    return plan


def _build(
    spec: IntegrationSpec,
    action: ActionSpec,
    inputs: Mapping[str, Any],
    config: Mapping[str, Any],
    base: str,
    app: Mapping[str, Any],
    next_url: str | None,
) -> httpx.Request:
    plan = _plan(spec, action)
    if next_url is None:
        # Path defaults (and consts) fill the template when the caller leaves them out.
        path_values = {name: _value(action, name, action.inputs[name], inputs) for name in plan.path}
        path = _render_path(spec, action, path_values)
        url = base.rstrip("/") + path if path.startswith("/") else base + path
    else:
        url = next_url
    query: list[tuple[str, str]] = []
    headers = integration_headers(spec, config, app, action.headers) if plan.headers is None else dict(plan.headers)
    body: dict[str, Any] = {}
    whole: tuple[Any] | None = None  # the root input's value, when it has one
    for name, input_spec, wire, where in plan.inputs:
        value = _value(action, name, input_spec, inputs, where)
        if value is None:
            continue
        if where == "query":
            if next_url is None:  # a next page's URL carries the query already
                query.extend(flatten(wire, value, explode=input_spec.explode))
        elif where == "header":
            text = value if isinstance(value, str) else json.dumps(value)
            if not header_safe(text):
                raise header_value_refusal(_code(spec, action), name, wire)
            headers[wire] = text
        elif where == "body":
            if input_spec.root:
                whole = (value,)
            else:
                body[wire] = value
    if action.body_root and body:
        body = {action.body_root: body}
    kwargs: dict[str, Any] = {}
    if whole is not None:
        if action.body_encoding == "form" and isinstance(whole[0], Mapping):
            kwargs["data"] = _pairs_to_form(pair for k, v in whole[0].items() for pair in flatten(k, v))
        else:
            kwargs["json"] = whole[0]
    elif body:
        if action.body_encoding == "json":
            kwargs["json"] = body
        elif action.body_encoding == "form":
            kwargs["data"] = _pairs_to_form(pair for k, v in body.items() for pair in flatten(k, v))
        else:
            kwargs["files"] = [
                (k, (None, v if isinstance(v, (str, bytes)) else json.dumps(v))) for k, v in body.items()
            ]
    # httpx replaces a URL's query with `params`: a next page's URL keeps its own.
    target = _target(url, tuple(query) if next_url is None else None)
    if kwargs:
        return httpx.Request(action.method, target, headers=headers, **kwargs)
    return _bodyless(action.method, target, headers)


_EMPTY = b""
_COUNTED = ("POST", "PUT", "PATCH")  # httpx says `Content-Length: 0` for these without a body


def _bodyless(method: str, url: httpx.URL, headers: dict[str, str]) -> httpx.Request:
    """The request `httpx.Request(method, url, headers=headers)` makes, its headers given whole.

    httpx encodes an empty body, then puts its own headers in front of the given ones (`Host`, and
    `Content-Length: 0` for a method that sends a body) and normalises them all again: a third of
    building a request. A request given a stream takes its headers as they are, so they are
    written here in httpx's order, and the empty body is read as httpx reads it.
    """
    method = method.upper()
    lowered = {name.lower() for name in headers}
    auto: list[tuple[str, str]] = []
    if "host" not in lowered and url.host:
        auto.append(("Host", url.netloc.decode("ascii")))
    if method in _COUNTED and "content-length" not in lowered and "transfer-encoding" not in lowered:
        auto.append(("Content-Length", "0"))
    request = httpx.Request(method, url, headers=[*auto, *headers.items()], stream=httpx.ByteStream(_EMPTY))
    request.read()
    return request


@lru_cache(maxsize=256)
def _target(url: str, query: tuple[tuple[str, str], ...] | None) -> httpx.URL:
    """The URL httpx makes of `url` and `params=query` (None: no params), remembered.

    Parsing a URL is most of the cost of building a request, and a connection's runs mostly call
    the same few URLs. `httpx.URL` is immutable, so the requests can share one. An invalid URL
    raises (and is not remembered) as `httpx.Request` would.
    """
    return httpx.Request("GET", url, params=None if query is None else list(query)).url


def _render_path(spec: IntegrationSpec, action: ActionSpec, values: Mapping[str, Any]) -> str:
    """The action's path with its inputs, each percent-encoded into a segment it cannot leave.

    Encoding leaves `.` as it is; with `""`, `.` and `..` refused, no value (nor several side by
    side in one segment) can make a dot segment or an empty one, which URL normalisation would
    resolve against the template's fixed segments.
    """
    for name, value in values.items():
        if isinstance(value, str) and value in DOT_SEGMENTS:
            raise path_value_refusal(_code(spec, action), name, value)
    return render(action.path, {"inputs": values}, escape=_segment)


def _segment(text: str) -> str:
    return quote(text, safe="")


def _config_header(
    spec: IntegrationSpec, header: str, template: str, config: Mapping[str, Any], app: Mapping[str, Any]
) -> str:
    if "${" not in template:
        return template
    value = render(template, {"connection_config": config, "app": app})
    if not header_safe(value):
        names = [name for _namespace, name in variables(template)]
        raise InvalidInput(
            f"{spec.display_name}: the connection's {', '.join(repr(n) for n in names)} would put a line break, a "
            f"control character or text beyond ASCII in the HTTP header {header}, which takes printable ASCII on "
            "one line.",
            details={"header": header},
        )
    return value


def _code(spec: IntegrationSpec, action: ActionSpec) -> str:
    """The action's code, for messages (an action does not carry its own)."""
    return next((code for code, candidate in spec.actions.items() if candidate is action), spec.display_name)


def check_connection_target(spec: IntegrationSpec, config: Mapping[str, Any], base_url: str | None = None) -> None:
    """Check the base URLs and headers a connection's settings make, before the connection is stored.

    A template the settings do not fill (a value used by some actions only) is left to run time.

    Args:
        spec: The integration.
        config: The connection's config values.
        base_url: The connection's base URL override.

    Raises:
        InvalidInput: A rendered base URL is not valid (`256.1.1.1`, `0177.0.0.1` or `xn--` as a
            host), or a header would hold a line break; the settings at fault are named.
    """
    if spec.protocol != "http":
        return
    templates = [base_url or spec.base_url, *(a.base_url for a in spec.actions.values() if a.base_url)]
    for template in dict.fromkeys(templates):
        try:
            url = render(template, {"connection_config": config})
        except InvalidInput:
            continue
        problem = url_problem(url)
        if problem is not None:
            names = [n for namespace, n in variables(template) if namespace == "connection_config"]
            fix = ", ".join(repr(n) for n in (["base_url"] if template == base_url else names)) or "'base_url'"
            raise InvalidInput(
                f"{spec.display_name}: these settings make the base URL {url!r}, which is not valid ({problem}). "
                f"Check {fix}; nothing was stored.",
                details={"base_url": url},
            )
    for header, template in spec.headers.items():
        if any(namespace == "app" for namespace, _name in variables(template)):
            continue  # the OAuth app's fields fill it when a request goes out
        try:
            _config_header(spec, header, template, config, {})
        except InvalidInput as exc:
            raise InvalidInput(f"{exc.message} Nothing was stored.", details=exc.details) from None


def _value(action: ActionSpec, name: str, spec: InputSpec, inputs: Mapping[str, Any], where: str = "") -> Any:
    """The value to send: the input given; else its `const`; else, for a path input, its default.

    Other defaults are documentation: the service applies its own. `where` is the input's
    location when the caller knows it.
    """
    value = inputs.get(name)
    if value is not None:
        return value
    schema = spec.model_extra or {}
    if "const" in schema:
        return schema["const"]
    if (where or input_location(action, name, spec)) == "path":
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
