"""Security schemes -> the definition's `auth` entries (one per mode)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

from plughub.engine.openapi.model import Document, Scheme
from plughub.engine.openapi.naming import unique, upper_snake
from plughub.engine.openapi.paths import text, url_scheme

__all__ = ["AuthResult", "build_auth"]

Fetch = Callable[[str], bytes]


@dataclass
class AuthResult:
    """The auth entries and what actions need to know about them.

    Attributes:
        entries: The definition's `auth` list.
        modes: The mode each imported scheme became, by scheme name.
        credential_params: `(in, lower-case name)` of parameters the API_KEY entry fills, which
            actions leave out of their inputs.
    """

    entries: list[dict[str, Any]] = field(default_factory=list)
    modes: dict[str, str] = field(default_factory=dict)
    credential_params: set[tuple[str, str]] = field(default_factory=set)


@dataclass
class _Candidate:
    mode: str
    entry: dict[str, Any]
    scheme: Scheme


def build_auth(
    doc: Document,
    *,
    base_url: str | None,
    document_url: str | None,
    fetch: Fetch,
    reserved: set[str],
    warnings: list[str],
) -> AuthResult:
    """Turn the document's security schemes into auth entries.

    Args:
        doc: The document.
        base_url: The absolute server URL, when known (relative OAuth URLs resolve against it).
        document_url: Where the document came from, when known.
        fetch: Reads an URL (OpenID Connect discovery).
        reserved: Names credentials must not take (connection_config fields).
        warnings: Receives a line for each scheme skipped or merged.

    Returns:
        The entries (at least one: NO_AUTH when nothing else applies).
    """
    result = AuthResult()
    candidates: list[_Candidate] = []
    for scheme in doc.schemes:
        candidates.extend(_candidates(scheme, base_url or document_url, fetch, warnings))
    requirements = list(doc.security or []) + [r for op in doc.operations for r in op.security or []]
    api_keys = [c for c in candidates if c.mode == "API_KEY"]
    together = next((g for g in (_api_key_group(r, api_keys) for r in requirements) if len(g) > 1), [])
    # One API_KEY entry: a header key rather than one in the query (HubSpot's deprecated `hapikey`)
    # or a cookie, as query strings end up in logs.
    chosen = next((c for c in api_keys if _wire(c)[0] == "header"), api_keys[0] if api_keys else None)
    kept_from: dict[str, str] = {}
    for candidate in candidates:
        mode, name = candidate.mode, candidate.scheme.name
        if mode == "API_KEY" and not together and chosen is not None and candidate is not chosen:
            where = _wire(candidate)[0]
            why = f" (a key in a header is preferred to one in the {where})" if where != "header" else ""
            warnings.append(
                f"security scheme '{name}': left out; the definition has one API_KEY entry, taken from "
                f"'{chosen.scheme.name}'{why}"
            )
            continue
        if mode == "API_KEY" and together and any(candidate is c for c in together):
            if candidate is together[0]:
                result.entries.append(_merged_api_key(together, reserved))
                result.modes.update({c.scheme.name: mode for c in together})
                result.credential_params.update(_wire(c) for c in together)
                kept_from[mode] = "', '".join(c.scheme.name for c in together)
            continue
        if mode in kept_from or (mode == "API_KEY" and together):
            source = kept_from.get(mode) or "', '".join(c.scheme.name for c in together)
            warnings.append(
                f"security scheme '{name}': left out; the definition has one {mode} entry, taken from '{source}'"
            )
            continue
        result.entries.append(candidate.entry)
        result.modes[name] = mode
        kept_from[mode] = name
        if mode == "API_KEY":
            result.credential_params.add(_wire(candidate))
    optional = doc.security is not None and (not doc.security or any(not r for r in doc.security))
    if not result.entries:
        if doc.schemes:
            warnings.append("security: no scheme of the document could be imported; the integration uses NO_AUTH")
        result.entries.append({"mode": "NO_AUTH"})
    elif optional and doc.schemes:
        result.entries.append({"mode": "NO_AUTH"})
    return result


def _wire(candidate: _Candidate) -> tuple[str, str]:
    raw = candidate.scheme.raw
    return text(raw.get("in")), text(raw.get("name")).lower()


def _api_key_group(requirement: Mapping[str, Any], api_keys: list[_Candidate]) -> list[_Candidate]:
    return [c for c in api_keys if c.scheme.name in requirement]


def _merged_api_key(group: list[_Candidate], reserved: set[str]) -> dict[str, Any]:
    credentials: dict[str, Any] = {}
    apply: list[dict[str, str]] = []
    for candidate in group:
        name = unique(upper_snake(candidate.scheme.name).lower() or "api_key", credentials.keys() | reserved)
        if not name[0].isalpha():
            name = unique(f"key_{name}", credentials.keys() | reserved)
        credentials[name] = candidate.entry["credentials"]["api_key"]
        location, wire = next((k, v) for k, v in candidate.entry["apply"].items())
        apply.append({location: wire, "format": f"${{credentials.{name}}}"})
    return {"mode": "API_KEY", "credentials": credentials, "apply": apply}


def _description(scheme: Scheme, fallback: str) -> str:
    paragraph = text(scheme.raw.get("description")).split("\n\n")[0].strip()
    return (paragraph[:297] + "...") if len(paragraph) > 300 else paragraph or fallback


def _candidates(scheme: Scheme, base: str | None, fetch: Fetch, warnings: list[str]) -> list[_Candidate]:
    raw, label = scheme.raw, f"security scheme '{scheme.name}'"
    if scheme.type == "apiKey":
        if _sigv4(scheme):
            warnings.append(
                f"{label}: AWS Signature Version 4 signs every request with the secret key, which plughub does not "
                "support; left out"
            )
            return []
        location, name = text(raw.get("in")), text(raw.get("name"))
        if location not in ("header", "query", "cookie") or not name:
            warnings.append(f"{label}: apiKey in '{location}' named '{name}' is not supported; left out")
            return []
        field_spec = {"type": "string", "description": _description(scheme, f"API key ({location} {name})")}
        entry = {
            "mode": "API_KEY",
            "credentials": {"api_key": {**field_spec, "secret": True}},
            "apply": {location: name},
        }
        return [_Candidate("API_KEY", entry, scheme)]
    if scheme.type == "http":
        kind = text(raw.get("scheme")).lower()
        if kind == "bearer":
            return [_Candidate("BEARER_TOKEN", {"mode": "BEARER_TOKEN"}, scheme)]
        if kind == "basic":
            return [_Candidate("BASIC", {"mode": "BASIC"}, scheme)]
        warnings.append(f"{label}: HTTP scheme '{kind}' is not supported; left out")
        return []
    if scheme.type == "oauth2":
        return _oauth2(scheme, base, warnings)
    if scheme.type == "openIdConnect":
        return _openid(scheme, fetch, warnings)
    warnings.append(f"{label}: type '{scheme.type}' is not supported; left out")
    return []


def _sigv4(scheme: Scheme) -> bool:
    """Whether an apiKey scheme stands for AWS SigV4 (API Gateway's `x-amazon-apigateway-authtype`)."""
    kind = text(scheme.raw.get("x-amazon-apigateway-authtype")).lower().replace("_", "")
    return kind in ("awssigv4", "awsiam", "iam", "sigv4") or "sigv4" in scheme.name.lower()


def _absolute(url: str, base: str | None) -> str | None:
    if url_scheme(url) in ("http", "https"):
        return url
    if base and url_scheme(base) in ("http", "https"):
        try:
            return urljoin(base, url)
        except ValueError:
            return None
    return None


def _oauth2(scheme: Scheme, base: str | None, warnings: list[str]) -> list[_Candidate]:
    label = f"security scheme '{scheme.name}'"
    raw_flows = scheme.raw.get("flows")
    flows: Mapping[str, Any] = raw_flows if isinstance(raw_flows, Mapping) else {}
    chosen: _Candidate | None = None
    preference = {"authorizationCode": 0, "clientCredentials": 1}
    for flow_name, flow in sorted(flows.items(), key=lambda item: preference.get(item[0], 2)):
        if flow_name not in ("authorizationCode", "clientCredentials"):
            warnings.append(f"{label}: the OAuth 2 {flow_name} flow is not supported; left out")
            continue
        if not isinstance(flow, Mapping):
            continue
        token_url = _absolute(text(flow.get("tokenUrl")), base) if flow.get("tokenUrl") else None
        scopes = [str(s) for s in flow.get("scopes") or {}] if isinstance(flow.get("scopes"), Mapping) else []
        entry: dict[str, Any] = {"mode": "OAUTH2"}
        if flow_name == "authorizationCode":
            authorize = _absolute(text(flow.get("authorizationUrl")), base) if flow.get("authorizationUrl") else None
            if not authorize or not token_url:
                warnings.append(f"{label}: the authorizationCode flow lacks an absolute authorizationUrl or tokenUrl")
                continue
            entry.update(authorization_url=authorize, token_url=token_url)
        else:
            if not token_url:
                warnings.append(f"{label}: the clientCredentials flow lacks an absolute tokenUrl; left out")
                continue
            entry.update(grant_type="client_credentials", token_url=token_url)
        if scopes:
            entry["default_scopes"] = scopes
        if chosen is None:
            chosen = _Candidate("OAUTH2", entry, scheme)
        else:
            warnings.append(f"{label}: the OAuth 2 {flow_name} flow is left out; the definition has one OAUTH2 entry")
    return [chosen] if chosen else []


def _openid(scheme: Scheme, fetch: Fetch, warnings: list[str]) -> list[_Candidate]:
    label = f"security scheme '{scheme.name}'"
    url = text(scheme.raw.get("openIdConnectUrl"))
    try:
        discovery = json.loads(fetch(url))
    except Exception as exc:
        warnings.append(
            f"{label}: openIdConnect discovery at {url} could not be read ({type(exc).__name__}: {exc}); "
            "add an OAUTH2 entry by hand"
        )
        return []
    if not isinstance(discovery, Mapping) or not isinstance(discovery.get("token_endpoint"), str):
        warnings.append(f"{label}: the discovery document at {url} has no token_endpoint; left out")
        return []
    entry: dict[str, Any] = {"mode": "OAUTH2", "token_url": discovery["token_endpoint"]}
    if isinstance(discovery.get("authorization_endpoint"), str):
        entry["authorization_url"] = discovery["authorization_endpoint"]
    else:
        entry["grant_type"] = "client_credentials"
    scopes = discovery.get("scopes_supported")
    if isinstance(scopes, list) and scopes:
        entry["default_scopes"] = [str(s) for s in scopes]
    if isinstance(discovery.get("revocation_endpoint"), str):
        entry["revocation_url"] = discovery["revocation_endpoint"]
    if isinstance(discovery.get("issuer"), str):
        entry["issuer"] = discovery["issuer"]
    return [_Candidate("OAUTH2", entry, scheme)]
