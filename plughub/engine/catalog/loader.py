"""Read definition files, validate them, and report errors with the file and the key."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from plughub.engine.catalog.models import INPUT_NAME, IntegrationSpec
from plughub.engine.catalog.templates import template_problems, variables
from plughub.engine.catalog.trigger_checks import trigger_problems
from plughub.enums import AuthenticationSchema
from plughub.exceptions import CatalogError

__all__ = ["BUNDLED_DIR", "JSON_SCHEMA_KEYWORDS", "bundled_specs", "load_directory", "load_file", "parse_definition"]

BUNDLED_DIR = Path(__file__).with_name("providers")
# Keywords an input may carry (JSON Schema 2020-12 validation and annotation vocabularies).
JSON_SCHEMA_KEYWORDS = frozenset(
    (
        "type",
        "enum",
        "const",
        "multipleOf",
        "maximum",
        "exclusiveMaximum",
        "minimum",
        "exclusiveMinimum",
        "maxLength",
        "minLength",
        "pattern",
        "maxItems",
        "minItems",
        "uniqueItems",
        "maxContains",
        "minContains",
        "maxProperties",
        "minProperties",
        "dependentRequired",
        "title",
        "description",
        "default",
        "deprecated",
        "readOnly",
        "writeOnly",
        "examples",
        "format",
        "contentEncoding",
        "contentMediaType",
        "items",
        "prefixItems",
        "contains",
        "properties",
        "patternProperties",
        "additionalProperties",
        "propertyNames",
        "allOf",
        "anyOf",
        "oneOf",
        "not",
        "if",
        "then",
        "else",
        "dependentSchemas",
        "$ref",
        "$defs",
        "$comment",
        "nullable",
    )
)
_ACTION_CODE_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")

# The C loader is several times faster; fall back where libyaml is missing.
_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc]
    """A safe loader that refuses a key written twice (PyYAML silently keeps the last one)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key '{key}' is written twice", key_node.start_mark
                )
            seen.add(key)
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping


def load_file(path: Path, *, trusted: bool = False) -> IntegrationSpec:
    """Load and validate one definition file.

    Args:
        path: A `.yaml`, `.yml` or `.json` file.
        trusted: Skip checking each action schema against the JSON Schema meta-schema (the
            bundled files, which the test suite checks in full).

    Returns:
        The validated definition.

    Raises:
        CatalogError: The file cannot be read or parsed, or breaks the format; the message names
            the file and the key.
    """
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 - a safe loader
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read the file ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise CatalogError(f"{path}: not UTF-8 text (byte {exc.start}); save the file as UTF-8") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise CatalogError(f"{path}: not valid YAML{where}: {problem}") from None
    spec = parse_definition(data, source=str(path), trusted=trusted)
    if spec.id != path.stem:
        raise CatalogError(f"{path}: id: '{spec.id}' must match the file name '{path.stem}'")
    return spec


def parse_definition(data: Any, *, source: str = "<definition>", trusted: bool = False) -> IntegrationSpec:
    """Validate a definition given as a mapping.

    Args:
        data: The parsed YAML or JSON document.
        source: What to call it in error messages (a file path).
        trusted: Skip checking each action schema against the JSON Schema meta-schema (the
            bundled files, which the test suite checks in full).

    Returns:
        The validated definition.

    Raises:
        CatalogError: The document breaks the format; the message names the source and the key.
    """
    if not isinstance(data, Mapping):
        raise CatalogError(f"{source}: a definition must be a mapping, not {type(data).__name__}")
    try:
        spec = IntegrationSpec.model_validate(data)
    except ValidationError as exc:
        problems = [f"{_key(err['loc'])}: {err['msg']}" for err in exc.errors()[:5]]
        more = f" (and {exc.error_count() - 5} more)" if exc.error_count() > 5 else ""
        raise CatalogError(f"{source}: " + "; ".join(problems) + more) from None
    problems = list(_semantic_problems(spec, meta_check=not trusted))
    if problems:
        raise CatalogError(f"{source}: " + "; ".join(problems[:5]))
    return spec


def load_directory(directory: Path, *, trusted: bool = False) -> dict[str, tuple[IntegrationSpec, Path]]:
    """Load every definition file of a directory.

    Args:
        directory: The directory (not searched recursively).
        trusted: Skip the meta-schema check of action schemas (see `load_file`).

    Returns:
        Definitions by id, with the file each came from.

    Raises:
        CatalogError: A file is broken, or two files declare the same id.
    """
    found: dict[str, tuple[IntegrationSpec, Path]] = {}
    files = sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml", ".json"))
    for path in files:
        spec = load_file(path, trusted=trusted)
        if spec.id in found:
            raise CatalogError(f"{path}: id: '{spec.id}' is also defined in {found[spec.id][1]}")
        found[spec.id] = (spec, path)
    return found


@lru_cache(maxsize=1)
def bundled_specs() -> dict[str, IntegrationSpec]:
    """Load the definitions shipped with plughub, once per process.

    Returns:
        Bundled definitions by id.
    """
    # The bundled files are checked in full by the test suite (JSON Schema included); checking every
    # action's schema against the meta-schema at each start would cost most of the load time.
    return {key: spec for key, (spec, _path) in load_directory(BUNDLED_DIR, trusted=True).items()}


def _key(loc: tuple[Any, ...]) -> str:
    # pydantic puts the union member's tag after "auth.<n>" and "triggers.<code>"; it is noise to a reader.
    tags = {"auth": {scheme.value for scheme in AuthenticationSchema}, "triggers": {"webhook", "poll"}}
    parts = [str(p) for i, p in enumerate(loc) if not (i == 2 and p in tags.get(str(loc[0]), ()))]
    return ".".join(parts) or "(top level)"


def _null_values(value: Any, key: str) -> Iterator[str]:
    if isinstance(value, Mapping):
        for k, v in value.items():
            if v is None and k not in ("default", "const", "enum"):
                yield f"{key}.{k}"
            else:
                yield from _null_values(v, f"{key}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _null_values(v, f"{key}.{i}")


def _semantic_problems(spec: IntegrationSpec, *, meta_check: bool = True) -> Iterator[str]:
    """Check what the models alone cannot: templates, codes, input placement, schemas."""
    config = set(spec.connection_config)
    for name, field in spec.connection_config.items():
        if field.secret:
            yield (
                f"connection_config.{name}.secret: config values are stored in clear; "
                "declare secrets under a scheme's credentials"
            )
    yield from template_problems("base_url", spec.base_url, {"connection_config": config})
    for name, value in spec.headers.items():
        yield from template_problems(f"headers.{name}", value, {"connection_config": config})
    seen: set[str] = set()
    for index, auth in enumerate(spec.auth):
        key = f"auth.{index}"
        if auth.mode in seen:
            yield f"{key}.mode: {auth.mode} is listed twice"
        seen.add(auth.mode)
        credentials = set(auth.credential_fields())
        clash = credentials & (config | {"base_url"})
        if clash:
            yield f"{key}.credentials: {', '.join(sorted(clash))} is also a connection_config field"
        allowed = {"connection_config": config, "credentials": credentials}
        for item_index, item in enumerate(auth.apply_items() if auth.mode not in ("OAUTH1", "OAUTH2") else []):
            item_key = f"{key}.apply.{item_index}"
            if item.basic is not None:
                yield from template_problems(f"{item_key}.basic.username", item.basic.username, allowed)
                yield from template_problems(f"{item_key}.basic.password", item.basic.password, allowed)
            elif item.format is not None:
                yield from template_problems(f"{item_key}.format", item.format, allowed)
            elif len(credentials) != 1:
                yield f"{item_key}.format: required when the scheme has several credential fields"
        for url_key in ("authorization_url", "token_url", "revocation_url", "request_token_url", "access_token_url"):
            url = getattr(auth, url_key, None)
            if url:
                yield from template_problems(f"{key}.{url_key}", url, {"connection_config": config})
    for code, action in spec.actions.items():
        yield from _action_problems(spec, code, action, config, meta_check)
    yield from trigger_problems(spec)
    for code, trigger in spec.triggers.items():
        yield from _config_problems(f"triggers.{code}", trigger, meta_check)


def _config_problems(key: str, trigger: Any, meta_check: bool) -> Iterator[str]:
    """Check a trigger's config inputs as action inputs are checked: names, keywords, schema."""
    for name, value in trigger.config.items():
        input_key = f"{key}.config.{name}"
        if not INPUT_NAME.match(name):
            yield f"{input_key}: config names match {INPUT_NAME.pattern}"
        for keyword in value.model_extra or {}:
            if keyword not in JSON_SCHEMA_KEYWORDS:
                yield f"{input_key}.{keyword}: not a JSON Schema keyword nor one of required, secret"
        for where in _null_values(value.json_schema(), input_key):
            yield f"{where}: has no value (an unquoted comma in a flow mapping?)"
    if meta_check:
        problem = _schema_problem(json.dumps(trigger.config_schema, sort_keys=True, default=str))
        if problem:
            yield f"{key}.config: {problem}"


def _action_problems(
    spec: IntegrationSpec, code: str, action: Any, config: set[str], meta_check: bool
) -> Iterator[str]:
    key = f"actions.{code}"
    if not set(code) <= _ACTION_CODE_CHARS or not code.startswith(spec.action_prefix):
        yield f"{key}: action codes are upper snake case and start with {spec.action_prefix}"
    inputs = set(action.inputs)
    yield from template_problems(f"{key}.path", action.path, {"inputs": inputs})
    if action.base_url:
        yield from template_problems(f"{key}.base_url", action.base_url, {"connection_config": config})
    try:
        in_path = {name for _ns, name in variables(action.path)}
    except CatalogError:
        in_path = set()
    for name, spec_input in action.inputs.items():
        input_key = f"{key}.inputs.{name}"
        if not INPUT_NAME.match(name):
            yield f"{input_key}: input names match {INPUT_NAME.pattern}"
        for keyword in spec_input.model_extra or {}:
            if keyword not in JSON_SCHEMA_KEYWORDS:
                yield f"{input_key}.{keyword}: not a JSON Schema keyword nor one of in, required, alias, explode"
        for where in _null_values(spec_input.json_schema(), input_key):
            yield f"{where}: has no value (an unquoted comma in a flow mapping?)"
        if spec_input.location == "path" and name not in in_path:
            yield f"{input_key}.in: 'path' but the path template does not use ${{inputs.{name}}}"
        if name in in_path and spec_input.location not in (None, "path"):
            yield f"{input_key}.in: used in the path template, so it must go in the path"
        if spec_input.location == "body" and action.method in ("GET", "HEAD"):
            yield f"{input_key}.in: a {action.method} request has no body"
    if not meta_check:
        return
    problem = _schema_problem(json.dumps(action.input_schema, sort_keys=True, default=str))
    if problem:
        yield f"{key}.inputs: {problem}"


@lru_cache(maxsize=4096)
def _schema_problem(schema_json: str) -> str | None:
    """Check a schema against the JSON Schema 2020-12 meta-schema, once per distinct schema.

    The check costs a few milliseconds (the meta-schema's dynamic references); definitions that
    repeat schemas, and engines reopened in one process, pay it once. jsonschema-rs passes valid
    schemas whose patterns Python's `re` compiles too (it does not check patterns itself); anything
    else goes to jsonschema (~9 MB once imported), which decides and words the problem.
    """
    import jsonschema_rs

    schema = json.loads(schema_json)
    if jsonschema_rs.meta.is_valid(schema) and _patterns_compile(schema):
        return None
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        path = ".".join(str(p) for p in exc.path)
        return f"not valid JSON Schema at {path or 'top level'}: {exc.message}"
    return None


def _patterns_compile(schema: Any) -> bool:
    """Whether every `pattern` and `patternProperties` key in a schema compiles with `re`."""
    if isinstance(schema, list):
        return all(_patterns_compile(item) for item in schema)
    if not isinstance(schema, dict):
        return True
    patterns = [schema["pattern"]] if isinstance(schema.get("pattern"), str) else []
    if isinstance(schema.get("patternProperties"), dict):
        patterns += list(schema["patternProperties"])
    try:
        for pattern in patterns:
            re.compile(pattern)
    except re.error:
        return False
    return all(_patterns_compile(value) for value in schema.values())
