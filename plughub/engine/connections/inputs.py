"""Check connect inputs against an integration's scheme before anything is stored."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from plughub.engine.auth.static import resolve_placements
from plughub.engine.catalog.models import ApplySpec, FieldSpec, IntegrationSpec, OAuth2Spec
from plughub.engine.http.checks import NOT_ABSOLUTE, header_safe, holds_invalid_text, url_problem
from plughub.engine.http.render import check_connection_target
from plughub.enums import AuthenticationSchema
from plughub.exceptions import InvalidInput, MissingInputs, UnknownInputs, UnsupportedScheme

__all__ = ["ConnectInputs", "check_base_url", "parse_scopes", "split_connect_data"]

_STATIC = (AuthenticationSchema.API_KEY, AuthenticationSchema.BEARER_TOKEN, AuthenticationSchema.BASIC)
_TYPES: dict[str, tuple[type, ...]] = {"string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,)}


@dataclass(frozen=True)
class ConnectInputs:
    """Connect data split into what is sealed and what is stored in clear."""

    credentials: dict[str, Any]
    config: dict[str, Any]
    base_url: str | None
    scopes: list[str] | None = None

    def __repr__(self) -> str:
        return (
            f"ConnectInputs(credentials={sorted(self.credentials)}, config={self.config}, base_url={self.base_url!r})"
        )


def split_connect_data(spec: IntegrationSpec, scheme: AuthenticationSchema, data: Any) -> ConnectInputs:
    """Validate connect data for a scheme and split it into credentials and config.

    Args:
        spec: The integration.
        scheme: The scheme asked for.
        data: The `data` given to connect.

    Returns:
        The validated inputs, config defaults filled in.

    Raises:
        UnsupportedScheme: The integration does not support the scheme.
        MissingInputs: Required inputs are missing (all named).
        UnknownInputs: Inputs the scheme does not take (the accepted ones listed).
        InvalidInput: A value has the wrong type or format (the value itself is never echoed).
    """
    auth = spec.auth_for(scheme)
    label = f"{spec.display_name} {scheme.value}"
    if auth is None:
        supported = ", ".join(a.mode for a in spec.auth)
        raise UnsupportedScheme(
            f"Authentication schema {scheme.value} is not supported by {spec.display_name}. "
            f"Supported authentication methods: {supported}.",
            details={"supported": [a.mode for a in spec.auth]},
        )
    data = {} if data is None else data
    if not isinstance(data, Mapping):
        raise InvalidInput(f"{label}: data must be a dictionary of connect inputs, not {type(data).__name__}")
    oauth = scheme in (AuthenticationSchema.OAUTH1, AuthenticationSchema.OAUTH2)
    fields = dict(auth.credential_fields())
    if isinstance(auth, OAuth2Spec) and auth.grant_type == "client_credentials":
        fields = {
            "client_id": FieldSpec(description="Client ID", secret=False),
            "client_secret": FieldSpec(description="Client secret", secret=True),
        }
    elif oauth:
        fields = {}
    accepted = [*fields, *spec.connection_config, "base_url", *(["scopes"] if oauth else [])]
    unknown = sorted(k for k in data if k not in accepted)
    if unknown:
        raise UnknownInputs(
            f"{label} authentication does not take {', '.join(repr(u) for u in unknown)}. "
            f"Accepted parameters: {', '.join(accepted)}.",
            details={"unknown": unknown, "accepted": accepted},
        )
    every = {**fields, **spec.connection_config}
    missing = [name for name, field in every.items() if field.required and _blank(data.get(name))]
    if missing:
        names = ", ".join(repr(m) for m in missing)
        noun = "Parameter" if len(missing) == 1 else "Parameters"
        verb, pronoun = ("is", "it") if len(missing) == 1 else ("are", "them")
        raise MissingInputs(
            f"{noun} {names} {verb} required for {label} authentication. "
            f"Please provide {pronoun} in the data dictionary.",
            details={"missing": missing, "accepted": accepted, "integration": spec.id, "scheme": scheme.value},
        )
    for name, field in every.items():
        if name in data and data[name] is not None:
            _check_value(label, name, field, data[name])
    config = {
        name: data.get(name, field.default)
        for name, field in spec.connection_config.items()
        if data.get(name, field.default) is not None
    }
    credentials = {name: data[name] for name in fields if data.get(name) is not None}
    base_url = data.get("base_url")
    if base_url is not None:
        check_base_url(base_url)
    check_connection_target(spec, config, base_url)
    if scheme in _STATIC and credentials:
        _check_placements(label, auth.apply_items(), credentials, config)
    return ConnectInputs(
        credentials=credentials, config=config, base_url=base_url, scopes=parse_scopes(data.get("scopes"))
    )


def parse_scopes(value: Any) -> list[str] | None:
    """Read a `scopes` input: a list of strings, or one string separated by spaces or commas.

    Args:
        value: The value given.

    Returns:
        The scopes, or None when not given.

    Raises:
        InvalidInput: It is neither.
    """
    if value is None:
        return None
    if isinstance(value, str):
        return [s for s in re.split(r"[\s,]+", value) if s]
    if isinstance(value, (list, tuple)) and all(isinstance(s, str) for s in value):
        return list(value)
    raise InvalidInput("scopes must be a list of strings or a space-separated string")


def check_base_url(value: Any) -> str:
    """Check a connection's `base_url` override.

    Args:
        value: The value given.

    Returns:
        The URL.

    Raises:
        InvalidInput: It is not an absolute http(s) URL.
    """
    problem = url_problem(value) if isinstance(value, str) else NOT_ABSOLUTE
    if problem is not None:
        why = "" if problem == NOT_ABSOLUTE else f" ({problem})"
        raise InvalidInput(f"base_url must be an absolute http:// or https:// URL, not {value!r}{why}")
    return str(value)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _check_value(label: str, name: str, field: FieldSpec, value: Any) -> None:
    expected = _TYPES[field.type]
    if not isinstance(value, expected) or (field.type != "boolean" and isinstance(value, bool)):
        raise InvalidInput(f"{label}: '{name}' must be of type {field.type}, not {type(value).__name__}")
    if holds_invalid_text(value):
        raise InvalidInput(f"{label}: '{name}' is not valid Unicode text (it holds a lone surrogate); give UTF-8 text")
    shown = "" if field.secret is not False else f" (got {value!r})"
    if field.enum is not None and value not in field.enum:
        raise InvalidInput(f"{label}: '{name}' must be one of {', '.join(map(str, field.enum))}{shown}")
    if field.pattern and isinstance(value, str) and not re.search(field.pattern, value):
        raise InvalidInput(f"{label}: '{name}' must match {field.pattern}{shown}")


def _check_placements(
    label: str, items: list[ApplySpec], credentials: Mapping[str, Any], config: Mapping[str, Any]
) -> None:
    """Refuse credentials that could not be sent in the header (or cookie) the scheme puts them in."""
    try:
        placements = resolve_placements(items, credentials, config)
    except InvalidInput:  # a template the values do not fill: the run says what is missing
        return
    for placement in placements:
        if placement.target in ("header", "cookie") and not header_safe(placement.value):
            unsafe = [n for n, v in credentials.items() if isinstance(v, str) and not header_safe(v)]
            names = ", ".join(repr(n) for n in unsafe) or "the credentials"
            raise InvalidInput(
                f"{label}: {names} would go in the HTTP {placement.target} {placement.name}, which takes printable "
                "ASCII text on one line: no line breaks, control characters or characters beyond ASCII. Check "
                "the value pasted (a trailing newline?); nothing was stored.",
                details={"fields": unsafe},
            )
