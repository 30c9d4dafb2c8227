"""Check a definition against the vendor's OpenAPI document(s): routes, parameters and bodies.

Each action must be an operation of a document: its method, and its path as the base URL's path
plus the action's path, compared with a server's path plus the operation's path, segment by segment
(`${inputs.owner}` stands for any `{owner}`; a literal such as `me` may fill a `{user}` segment).
Each input must be a parameter in the same place (query, header) or a property of the request
body (inside `body_root` when the definition wraps the body, as Asana's `data`); a query alias such
as Stripe's `created[gte]` matches the parameter `created`, and an object input `created` matches
`created[gte]`. Every parameter or body property the document requires must be sent: by an input
the action requires, by the credentials, or by a fixed header. What differs is a finding:

- `route_unknown`: no operation has the action's method and path;
- `parameter_unknown`: the document has no such parameter or body property anywhere;
- `parameter_misplaced`: the document has it, elsewhere (the query instead of the body, ...);
- `required_missing`: the document requires something the action does not always send;
- `body_property_unknown`: the body has no such property (or the wrapper is wrong);
- `body_encoding`: the action sends JSON, a form or multipart where the document takes another.

The definition's `verified_against.exceptions` turns an action's findings into accepted ones,
with the reason it records (the document is older, or covers only part of the API).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plughub.engine.catalog.models import ActionSpec, IntegrationSpec
from plughub.engine.http.render import input_location
from plughub.engine.openapi.importer import read_document
from plughub.engine.openapi.inputs import Skip, body_properties
from plughub.engine.openapi.model import MediaBody, Operation, Parameter
from plughub.engine.openapi.refs import BrokenRef, ExternalRef, Resolver
from plughub.engine.openapi.source import load_source
from plughub.engine.openapi.vendor_routes import RouteIndex, RouteMatch, VendorDocument, definition_path
from plughub.schemas import VerifyFinding, VerifyReport

__all__ = ["FINDING_KINDS", "VendorDocument", "read_vendor_document", "verify_definition"]

FINDING_KINDS = (
    "route_unknown",
    "parameter_unknown",
    "parameter_misplaced",
    "required_missing",
    "body_property_unknown",
    "body_encoding",
)
_VARIABLE = re.compile(r"\$\{[^{}]*\}|\{[^{}]*\}")
_IMPLICIT_HEADERS = {"accept", "content-type", "authorization", "user-agent", "content-length"}
_ENCODINGS = {"application/x-www-form-urlencoded": "form", "multipart/form-data": "multipart"}


@dataclass
class _Checker:
    """Checks one action against the operation it matched."""

    spec: IntegrationSpec
    code: str
    action: ActionSpec
    match: RouteMatch
    findings: list[VerifyFinding] = field(default_factory=list)

    @property
    def operation(self) -> Operation:
        return self.match.route.operation

    def add(self, kind: str, message: str) -> None:
        self.findings.append(VerifyFinding(action=self.code, kind=kind, message=message))

    def run(self) -> list[VerifyFinding]:
        operation = self.operation
        label = f"{operation.label} ({self.match.route.vendor.name})"
        if operation.problems:
            self.add("route_unknown", f"{label} cannot be read: {operation.problems[0]}")
            return self.findings
        body_inputs: dict[str, str] = {}
        for name, spec in self.action.inputs.items():
            where = input_location(self.action, name, spec)
            wire = spec.alias or name
            if where == "path":
                continue  # matched by position with the route
            if where == "body":
                body_inputs[name] = wire
                continue
            if not self._parameter(where, wire):
                self._elsewhere(name, where, wire, label)
        self._body(body_inputs, label)
        self._required(label)
        return self.findings

    def _params(self, location: str) -> list[Parameter]:
        return [p for p in self.operation.parameters if p.location == location]

    def _parameter(self, location: str, wire: str, object_input: bool | None = None) -> bool:
        """Whether the document has this parameter (aliases such as `created[gte]` understood)."""
        names = {p.name.lower() if location == "header" else p.name for p in self._params(location)}
        key = wire.lower() if location == "header" else wire
        if key in names or key.removesuffix("[]") in names:
            return True
        if "[" in key and key.split("[", 1)[0] in names:
            return True  # `created[gte]` for a deepObject parameter `created`
        return any(n.startswith(key + "[") for n in names)  # an object input `created` for `created[gte]`

    def _elsewhere(self, name: str, where: str, wire: str, label: str) -> None:
        for location in ("query", "header", "path", "cookie"):
            if location != where and self._parameter(location, wire):
                self.add(
                    "parameter_misplaced",
                    f"input '{name}' goes in the {where} as '{wire}'; {label} has it in the {location}",
                )
                return
        properties = self._body_properties()
        if properties is not None and _base(wire) in properties[0]:
            self.add(
                "parameter_misplaced", f"input '{name}' goes in the {where} as '{wire}'; {label} has it in the body"
            )
            return
        self.add("parameter_unknown", f"input '{name}' ({where} '{wire}') is not a parameter of {label}")

    def _chosen_body(self) -> tuple[MediaBody | None, str | None]:
        kinds = [(b, _kind(b.media_type)) for b in self.operation.bodies]
        for body, kind in kinds:
            if kind == self.action.body_encoding:
                return body, kind
        for wanted in ("json", "form", "multipart"):
            for body, kind in kinds:
                if kind == wanted:
                    return body, kind
        return None, None

    def _body_properties(self) -> tuple[dict[str, Any], list[str], bool] | None:
        """The top-level properties of the document's body, its required ones, and whether others are taken."""
        body, _kind = self._chosen_body()
        if body is None:
            return None
        converter = self.match.route.vendor.converter
        try:
            # Not as a request: a property the document marks readOnly is still one it knows (Ably's
            # message `id`, which the publisher may set for idempotent publishing).
            schema = converter.convert(body.schema, body.pointer, [])
            properties, required, _note = body_properties(schema)
        except (BrokenRef, ExternalRef):
            return {}, [], True  # the document cannot say: nothing to hold against the action
        except Skip:
            return {}, [], False  # a body that is not an object: no input can be one of its keys
        return properties, required, _open(schema, properties)

    def _body(self, inputs: dict[str, str], label: str) -> None:
        """Check the body inputs against the document's body."""
        if not inputs:
            return
        body, kind = self._chosen_body()
        if body is None:
            where = "no request body" if not self.operation.bodies else "no body in JSON, a form or multipart"
            for name, wire in inputs.items():
                self._elsewhere_from_body(name, wire, label, where)
            return
        if kind != self.action.body_encoding:
            media = ", ".join(b.media_type for b in self.operation.bodies)
            self.add("body_encoding", f"the action sends a {self.action.body_encoding} body; {label} takes {media}")
        found = self._body_properties()
        properties, required, open_ = found if found is not None else ({}, [], True)
        if self.action.body_root:
            wrapper = properties.get(self.action.body_root)
            if not isinstance(wrapper, dict):
                self.add(
                    "body_property_unknown",
                    f"body_root '{self.action.body_root}' is not a property of the body of {label}",
                )
                return
            try:
                properties, required, _note = body_properties(wrapper, f"'{self.action.body_root}'")
            except Skip:
                properties, required = {}, []
            open_ = _open(wrapper, properties)
        for name, wire in inputs.items():
            base = _base(wire)
            if base in properties or open_:
                continue
            if self._parameter("query", wire) or self._parameter("path", wire) or self._parameter("header", wire):
                self.add(
                    "parameter_misplaced", f"input '{name}' goes in the body as '{wire}'; {label} has it as a parameter"
                )
                continue
            hint = _wrapper_hint(properties, base) if not self.action.body_root else None
            more = f" ({label} wraps the body in '{hint}': set body_root: {hint})" if hint else ""
            self.add(
                "body_property_unknown",
                f"input '{name}' (body '{wire}') is not a property of the body of {label}{more}",
            )
        self._required_body(required, inputs, label)

    def _elsewhere_from_body(self, name: str, wire: str, label: str, where: str) -> None:
        for location in ("query", "header", "path"):
            if self._parameter(location, wire):
                self.add("parameter_misplaced", f"input '{name}' goes in the body; {label} has it in the {location}")
                return
        self.add("parameter_unknown", f"input '{name}' (body '{wire}') is not known to {label}, which takes {where}")

    def _required_body(self, required: list[str], inputs: dict[str, str], label: str) -> None:
        by_wire = {_base(wire): name for name, wire in inputs.items()}
        for wanted in required:
            name = by_wire.get(wanted)
            if name is None:
                self.add("required_missing", f"{label} requires the body property '{wanted}'; no input sends it")
            elif not self._always_sent(name):
                self.add(
                    "required_missing",
                    f"{label} requires the body property '{wanted}'; input '{name}' is optional in the definition",
                )

    def _always_sent(self, name: str) -> bool:
        spec = self.action.inputs[name]
        return spec.is_required or "const" in (spec.model_extra or {})

    def _required(self, label: str) -> None:
        fixed = {h.lower() for h in (*self.spec.headers, *self.action.headers)}
        applied = _applied(self.spec)
        for param in self.operation.parameters:
            if not param.required or param.location == "path":
                continue
            location, wire = param.location, param.name
            key = wire.lower() if location == "header" else wire
            if location == "header" and (key in fixed or key in _IMPLICIT_HEADERS):
                continue
            if (location, key) in applied:
                continue
            name = self._input_for(location, wire)
            if name is None:
                self.add("required_missing", f"{label} requires the {location} parameter '{wire}'; no input sends it")
            elif not self._always_sent(name):
                self.add(
                    "required_missing",
                    f"{label} requires the {location} parameter '{wire}'; input '{name}' is optional in the definition",
                )
        if self.operation.body_required and not any(
            input_location(self.action, n, s) == "body" for n, s in self.action.inputs.items()
        ):
            self.add("required_missing", f"{label} requires a request body; the action sends none")

    def _input_for(self, location: str, wire: str) -> str | None:
        for name, spec in self.action.inputs.items():
            if input_location(self.action, name, spec) != location:
                continue
            ours = spec.alias or name
            if location == "header":
                if ours.lower() == wire.lower():
                    return name
            elif ours == wire or _base(ours) == wire or wire.startswith(ours + "["):
                return name
        return None


def _kind(media_type: str) -> str | None:
    media = media_type.split(";")[0].strip().lower()
    if media in _ENCODINGS:
        return _ENCODINGS[media]
    return "json" if media in ("application/json", "*/*", "text/json") or media.endswith("+json") else None


def _base(wire: str) -> str:
    """The property a form or query key sets: `metadata[plan]` -> `metadata`, `ids[]` -> `ids`."""
    return wire.split("[", 1)[0] if "[" in wire else wire


def _open(schema: Any, properties: Mapping[str, Any]) -> bool:
    """Whether a body takes keys it does not list (free-form, or explicit `additionalProperties`)."""
    if not isinstance(schema, dict):
        return schema is True
    extra = schema.get("additionalProperties")
    if extra is True or isinstance(extra, dict):
        return True
    if any(
        _open(part, properties)
        for part in schema.get("allOf") or []
        if isinstance(part, dict) and part.get("properties")
    ):
        return True  # a part that takes other keys (Bitbucket's objects)
    return not properties and extra is not False


def _wrapper_hint(properties: Mapping[str, Any], wire: str) -> str | None:
    if len(properties) != 1:
        return None
    ((key, inner),) = properties.items()
    inner_properties = inner.get("properties") if isinstance(inner, dict) else None
    return key if isinstance(inner_properties, dict) and wire in inner_properties else None


def _applied(spec: IntegrationSpec) -> set[tuple[str, str]]:
    """Parameters the credentials fill: `(location, name)` of every auth entry's apply items."""
    applied: set[tuple[str, str]] = set()
    for auth in spec.auth:
        for item in auth.apply_items():
            if item.header:
                applied.add(("header", item.header.lower()))
            if item.query:
                applied.add(("query", item.query))
            if item.cookie:
                applied.add(("cookie", item.cookie))
    return applied


def verify_definition(spec: IntegrationSpec, vendors: Sequence[VendorDocument]) -> VerifyReport:
    """Check every action of a definition against vendor documents (see the module's docstring).

    Args:
        spec: The definition.
        vendors: The documents, read by the importer (their operations together).

    Returns:
        The report: findings, accepted findings (the definition's `verified_against.exceptions`)
        and notes (an exception for an action without findings, operations that could not be read).
    """
    index = RouteIndex(vendors)
    exceptions = dict(spec.verified_against.exceptions) if spec.verified_against else {}
    report = VerifyReport(integration=spec.id, documents=[v.name for v in vendors], actions=len(spec.actions))
    for vendor in vendors:
        report.notes.extend(f"{vendor.name}: {warning}" for warning in vendor.document.warnings)
    for code, action in spec.actions.items():
        found = _verify_action(spec, code, action, index)
        if code in exceptions:
            report.accepted.extend(f.model_copy(update={"accepted": exceptions[code]}) for f in found)
            if not found:
                report.notes.append(f"{code}: listed in verified_against.exceptions, but it has no findings")
        else:
            report.findings.extend(found)
    return report


def _verify_action(spec: IntegrationSpec, code: str, action: ActionSpec, index: RouteIndex) -> list[VerifyFinding]:
    path, base_segments = definition_path(spec, action)
    match, methods = index.match(action.method, path, base_segments)
    if match is None:
        shown = _VARIABLE.sub(lambda m: "{" + m.group(0).strip("${}").split(".")[-1] + "}", path)
        where = f"; the documents have {', '.join(methods)} on this path" if methods else ""
        return [
            VerifyFinding(
                action=code, kind="route_unknown", message=f"{action.method} {shown} is not an operation{where}"
            )
        ]
    return _Checker(spec, code, action, match).run()


def read_vendor_document(
    source: Mapping[str, Any] | str | Path, *, name: str | None = None, fetch: Callable[[str], bytes] | None = None
) -> VendorDocument:
    """Read a vendor's document for `verify_definition`.

    Args:
        source: A file path (the files beside it are read for its `$ref`s), an http(s) URL, or the
            parsed document.
        name: How reports name it; the file's name, the URL's last segment, or `info.title`.
        fetch: Reads an URL; httpx by default.

    Returns:
        The document.

    Raises:
        CatalogError: It cannot be read, or is not an OpenAPI 3.x or Swagger 2.0 document.
    """
    root, location, reader = load_source(source, fetch)
    if name is None:
        if isinstance(location, Path):
            name = location.name
        elif isinstance(location, str):
            name = location.rstrip("/").rsplit("/", 1)[-1]
        else:
            info = root.get("info") if isinstance(root, Mapping) else None
            name = str(info.get("title")) if isinstance(info, Mapping) and info.get("title") else "document"
    resolver = Resolver(root, location, reader)
    return VendorDocument(name, read_document(root, resolver), resolver)
