"""Turn OpenAPI schemas (3.0, 3.1, Swagger 2.0) into self-contained JSON Schema 2020-12.

`$ref`s (inside the document, or to files beside it) are inlined. A reference met again inside its
own expansion (a recursive schema) is cut with a `$ref`-free approximation
(`{"type": "object", "description": "(recursive: Node)"}`), and
so is a reference nested deeper than `max_depth` references, which keeps heavily shared schemas
(Stripe's expandable objects) from growing without bound. OpenAPI-only keywords are converted
(`nullable`, `example`, boolean `exclusiveMinimum`, `type: file`) or dropped (`discriminator`,
`xml`, `externalDocs`, `x-*`), and every keyword kept has a valid value, so that the result passes
`Draft202012Validator.check_schema` by construction. In a request schema, `readOnly` properties are
left out: a server refuses to have them written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plughub.engine.openapi.keywords import (
    ANNOTATIONS,
    SPECIAL,
    SUBSCHEMA,
    SUBSCHEMA_LISTS,
    SUBSCHEMA_MAPS,
    TYPES,
    compiles,
    convert_annotations,
    convert_value,
)
from plughub.engine.openapi.refs import ExternalRef, Resolver, join
from plughub.exceptions import CatalogError

__all__ = ["DEFAULT_MAX_DEPTH", "DEFAULT_MAX_NODES", "SchemaConverter"]

DEFAULT_MAX_DEPTH = 5
DEFAULT_MAX_NODES = 500


class _TooBig(Exception):
    """The expansion went over the node budget; the converter retries one level shallower."""


class SchemaConverter:
    """Converts the schemas of one document.

    A schema whose expansion goes over `max_nodes` schema nodes is converted again with
    references inlined one level less deep, down to none at all.

    Args:
        resolver: The document's resolver.
        max_depth: How many `$ref`s deep to inline before approximating.
        max_nodes: How many schema nodes one conversion may produce before it is made shallower.
    """

    def __init__(
        self, resolver: Resolver, *, max_depth: int = DEFAULT_MAX_DEPTH, max_nodes: int = DEFAULT_MAX_NODES
    ) -> None:
        self.resolver = resolver
        self.max_depth = max_depth
        self.max_nodes = max_nodes
        self._depth_limit = max_depth
        self._budget = -1
        self._request = False

    def convert(
        self,
        schema: Any,
        pointer: str,
        notes: list[str],
        *,
        max_depth: int | None = None,
        max_nodes: int | None = None,
        request: bool = False,
    ) -> dict[str, Any] | bool:
        """Convert one schema.

        Args:
            schema: The raw schema (a mapping, a boolean, or None for "anything").
            pointer: Where it was read, for error messages.
            notes: Receives a line for each thing approximated or dropped.
            max_depth: Overrides the converter's `max_depth` for this schema.
            max_nodes: Overrides the converter's `max_nodes` for this schema.
            request: The schema describes what a request sends: `readOnly` properties (which a
                server refuses to be written) are left out.

        Returns:
            A JSON Schema 2020-12 schema without `$ref`.

        Raises:
            BrokenRef: A `$ref` does not resolve; the message names its pointer.
        """
        if schema is None:
            return {}
        self._request = request
        for depth in range(self.max_depth if max_depth is None else max_depth, 0, -1):
            self._depth_limit, self._budget = depth, max_nodes or self.max_nodes
            attempt: list[str] = []
            try:
                result = self._walk(schema, pointer, (), 0, attempt)
            except _TooBig:
                continue
            notes.extend(attempt)
            return result
        self._depth_limit, self._budget = 0, -1
        return self._walk(schema, pointer, (), 0, notes)

    def _walk(self, node: Any, ptr: str, stack: tuple[str, ...], depth: int, notes: list[str]) -> dict[str, Any] | bool:
        if isinstance(node, bool):
            return node
        if not isinstance(node, Mapping):
            notes.append(f"{ptr}: a schema must be a mapping; replaced by an empty schema")
            return {}
        if "$ref" in node:
            return self._reference(node, ptr, stack, depth, notes)
        self._spend()
        out: dict[str, Any] = {}
        types = self._types(node.get("type"), out)
        for key, value in node.items():
            if value is None or not isinstance(key, str) or key in SPECIAL or key.startswith("x-"):
                continue
            at = join(ptr, key)
            if key in SUBSCHEMA:
                if key == "items" and isinstance(value, list) and value:
                    out["prefixItems"] = [self._walk(v, join(at, i), stack, depth, notes) for i, v in enumerate(value)]
                elif isinstance(value, (Mapping, bool)):
                    out[key] = self._walk(value, at, stack, depth, notes)
            elif key in SUBSCHEMA_MAPS and isinstance(value, Mapping):
                children = {
                    str(k): self._walk(v, join(at, str(k)), stack, depth, notes)
                    for k, v in value.items()
                    if v is not None and (key != "patternProperties" or compiles(k))
                }
                if self._request and key == "properties":
                    children = {k: v for k, v in children.items() if not (isinstance(v, dict) and v.get("readOnly"))}
                out[key] = children
            elif key in SUBSCHEMA_LISTS and isinstance(value, list) and value:  # JSON Schema wants them non-empty
                out[key] = [self._walk(v, join(at, i), stack, depth, notes) for i, v in enumerate(value)]
            else:
                convert_value(key, value, out, at, notes)
        convert_annotations(node, out)
        if self._request and isinstance(out.get("required"), list) and isinstance(out.get("properties"), dict):
            dropped = {str(k) for k in node["properties"]} - set(out["properties"])
            out["required"] = [name for name in out["required"] if name not in dropped]
            if not out["required"]:
                del out["required"]
        if node.get("nullable") is True:
            return self._nullable(out, types)
        return out

    def _spend(self) -> None:
        self._budget -= 1
        if self._budget == 0:
            raise _TooBig

    @staticmethod
    def _types(value: Any, out: dict[str, Any]) -> list[str]:
        raw = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        types: list[str] = []
        for item in raw:
            if item == "file":
                out.setdefault("format", "binary")
                item = "string"
            if isinstance(item, str) and item in TYPES and item not in types:
                types.append(item)
        if types:
            out["type"] = types[0] if len(types) == 1 and isinstance(value, str) else types
        return types

    @staticmethod
    def _nullable(out: dict[str, Any], types: list[str]) -> dict[str, Any]:
        if types:
            if "null" not in types:
                out["type"] = [*types, "null"]
            if isinstance(out.get("enum"), list) and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
            return out
        if any(k in out for k in ("allOf", "anyOf", "oneOf", "enum", "const", "not")):
            return {"anyOf": [out, {"type": "null"}]}
        return out

    def _reference(
        self, node: Mapping[str, Any], ptr: str, stack: tuple[str, ...], depth: int, notes: list[str]
    ) -> dict[str, Any] | bool:
        ref = node["$ref"]
        if not isinstance(ref, str):
            raise CatalogError(f"{ptr}/$ref: must be a string, not {type(ref).__name__}")
        target = self._expand(ref, ptr, stack, depth, notes)
        siblings = {k: v for k, v in node.items() if k != "$ref" and isinstance(k, str) and not k.startswith("x-")}
        if not siblings:
            return target
        nullable = siblings.pop("nullable", None) is True
        extra = self._walk(siblings, ptr, stack, depth, notes) if siblings else {}
        result: dict[str, Any] | bool
        if not extra:
            result = target
        elif isinstance(extra, dict) and isinstance(target, dict) and set(extra) <= ANNOTATIONS:
            result = {**target, **extra}
        else:
            assert isinstance(extra, dict)  # noqa: S101 - a mapping converts to a mapping
            result = {**extra, "allOf": [*extra.get("allOf", []), target]}
        if nullable:
            return {"anyOf": [result, {"type": "null"}]}
        return result

    def _expand(
        self, ref: str, ptr: str, stack: tuple[str, ...], depth: int, notes: list[str]
    ) -> dict[str, Any] | bool:
        try:
            target, at = self.resolver.resolve(ref, ptr)
        except ExternalRef as exc:
            notes.append(f"{ptr}: {exc}; replaced by an empty schema")
            return {"description": f"(external reference: {ref})"}
        name = ref.rsplit("/", 1)[-1]
        if at in stack:
            return self._approximation(target, at, f"recursive: {name}")
        if depth >= self._depth_limit:
            return self._approximation(target, at, f"nested too deep: {name}")
        return self._walk(target, at, (*stack, at), depth + 1, notes)

    def _approximation(self, target: Any, ref: str, label: str) -> dict[str, Any]:
        """A `$ref`-free stand-in that accepts at least what the real schema accepts."""
        self._spend()
        try:
            target, _at = self.resolver.deref(target, ref)
        except (CatalogError, ExternalRef):
            target = {}
        out: dict[str, Any] = {}
        if isinstance(target, Mapping):
            types = self._types(target.get("type"), out)
            out.pop("format", None)
            if not types and "properties" in target and not any(k in target for k in SUBSCHEMA_LISTS):
                types = ["object"]
                out["type"] = "object"
            if types and target.get("nullable") is True and "null" not in types:
                out["type"] = [*types, "null"]
        out["description"] = f"({label})"
        return out
