"""Read definition files, validate them, and report errors with the file and the key."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from plughub.engine.catalog.models import INPUT_NAME, ActionSpec, IntegrationSpec, ResponseSpec
from plughub.engine.catalog.shared_inputs import expand_shared_inputs
from plughub.engine.catalog.templates import template_problems, variables
from plughub.engine.catalog.trigger_checks import APP_FIELDS, trigger_problems
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


@lru_cache(maxsize=1)
def _loader() -> Any:
    """PyYAML's safe loader that refuses a key written twice (PyYAML silently keeps the last one).

    Built on first use: a process that reads no definition file (one whose definitions come from
    the store or from code) never imports PyYAML.
    """
    import yaml

    # The C loader is several times faster; fall back where libyaml is missing.
    base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class _Loader(base):  # type: ignore[misc]
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

    return _Loader


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
    import yaml

    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_loader())  # noqa: S506 - a safe loader
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
    data, problems = expand_shared_inputs(data)
    if problems:
        raise CatalogError(f"{source}: " + "; ".join(problems[:5]))
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
    # pydantic puts the union member's tag after "auth.<n>", "triggers.<code>" and an action's
    # "pagination"; it is noise to a reader.
    tags = {"auth": {scheme.value for scheme in AuthenticationSchema}, "triggers": {"webhook", "poll"}}
    parts = [
        str(p)
        for i, p in enumerate(loc)
        if not (i == 2 and p in tags.get(str(loc[0]), ()))
        and not (i > 0 and loc[i - 1] == "pagination" and p in _PAGINATION_TYPES)
    ]
    return ".".join(parts) or "(top level)"


_PAGINATION_TYPES = frozenset({"cursor", "offset", "page", "link", "next_url"})


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
    oauth = any(auth.mode in ("OAUTH1", "OAUTH2") for auth in spec.auth)
    for name, value in spec.headers.items():
        # The OAuth app's non-secret fields (Twitch's Client-Id): an app belongs to an OAuth scheme.
        if not oauth and "${app." in value:
            yield f"headers.{name}: ${{app.x}} is the integration's OAuth app, and the definition has no OAuth scheme"
            continue
        yield from template_problems(f"headers.{name}", value, {"connection_config": config, "app": set(APP_FIELDS)})
    for name, spec_input in spec.inputs.items():
        yield from _input_problems(f"inputs.{name}", name, spec_input)
    if spec.response is not None:
        yield from _response_problems("response", spec.response)
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
        if auth.mode == "OAUTH2":
            yield from _oauth2_apply_problems(key, auth, config)
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


def _oauth2_apply_problems(key: str, auth: Any, config: set[str]) -> Iterator[str]:
    """Check an OAuth 2.0 scheme's own placements: the token's fields, the config, the app's non-secret fields."""
    if not auth.apply:
        return
    for index, item in enumerate(auth.apply_items()):
        templates = [item.format] if item.format else []
        if item.basic is not None:
            templates = [item.basic.username, item.basic.password]
        for template in templates:
            try:
                # The token answer's fields are known only at run time: any name passes.
                token_fields = {name for namespace, name in variables(template) if namespace == "credentials"}
            except CatalogError:
                token_fields = set()
            allowed = {"connection_config": config, "credentials": token_fields, "app": set(APP_FIELDS)}
            yield from template_problems(f"{key}.apply.{index}.format", template, allowed)


def _response_problems(key: str, response: ResponseSpec) -> Iterator[str]:
    """Response rules compare with fixed values: no template has a value there."""
    condition = response.error_when
    if condition is None:
        return
    for name, value in (("equals", condition.equals), ("in", condition.in_)):
        for text in _strings(value):
            yield from template_problems(f"{key}.error_when.{name}", text, {})


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _input_problems(
    input_key: str, name: str, spec_input: Any, *, noun: str = "input", own: str = "in, required, alias, explode, root"
) -> Iterator[str]:
    """Check one input's name and keywords (an action's, a shared one, a trigger's config value)."""
    if not INPUT_NAME.match(name):
        yield f"{input_key}: {noun} names match {INPUT_NAME.pattern}"
    for keyword in spec_input.model_extra or {}:
        if keyword not in JSON_SCHEMA_KEYWORDS:
            yield f"{input_key}.{keyword}: not a JSON Schema keyword nor one of {own}"
    for where in _null_values(spec_input.json_schema(), input_key):
        yield f"{where}: has no value (an unquoted comma in a flow mapping?)"


def _config_problems(key: str, trigger: Any, meta_check: bool) -> Iterator[str]:
    """Check a trigger's config inputs as action inputs are checked: names, keywords, schema."""
    for name, value in trigger.config.items():
        yield from _input_problems(f"{key}.config.{name}", name, value, noun="config", own="required, secret")
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
        yield from _input_problems(input_key, name, spec_input)
        if spec_input.location == "path" and name not in in_path:
            yield f"{input_key}.in: 'path' but the path template does not use ${{inputs.{name}}}"
        if name in in_path and spec_input.location not in (None, "path"):
            yield f"{input_key}.in: used in the path template, so it must go in the path"
        if spec_input.location == "body" and action.method in ("GET", "HEAD"):
            yield f"{input_key}.in: a {action.method} request has no body"
    yield from _root_problems(key, action)
    if action.response is not None:
        yield from _response_problems(f"{key}.response", action.response)
    if action.pagination is not None:
        for pagination_key, name in action.pagination.input_names().items():
            if name not in action.inputs:
                known = ", ".join(action.inputs) or "none"
                yield f"{key}.pagination.{pagination_key}: '{name}' is not an input of the action (inputs: {known})"
    if not meta_check:
        return
    problem = _schema_problem(json.dumps(action.input_schema, sort_keys=True, default=str))
    if problem:
        yield f"{key}.inputs: {problem}"


def _root_problems(key: str, action: ActionSpec) -> Iterator[str]:
    """A whole-body input is the only thing in the body, and a body it can be."""
    roots = [name for name, spec_input in action.inputs.items() if spec_input.root]
    if not roots:
        return
    if len(roots) > 1:
        yield f"{key}.inputs: {', '.join(roots)} are all root inputs; a request has one body"
        return
    name = roots[0]
    input_key = f"{key}.inputs.{name}.root"
    in_path = _path_names(action)
    if _location(action, name, action.inputs[name].location, in_path) != "body":
        yield f"{input_key}: a root input is the request body; write in: body"
        return
    others = [
        other
        for other, item in action.inputs.items()
        if other != name and _location(action, other, item.location, in_path) == "body"
    ]
    if others:
        yield f"{input_key}: the input is the whole body, so {', '.join(others)} cannot go in the body too"
    if action.body_root:
        yield f"{input_key}: body_root wraps body inputs in an object; a root input is the whole body"
    if action.body_encoding == "multipart":
        yield f"{input_key}: a multipart body is made of named parts; use body inputs instead"
    if action.body_encoding == "form" and action.inputs[name].json_schema().get("type") != "object":
        yield f"{input_key}: a form body is a set of fields; declare the input type: object"


def _location(action: ActionSpec, name: str, given: str | None, in_path: set[str]) -> str:
    """Where an input goes (the rule of `plughub.engine.http.render.input_location`)."""
    if given:
        return given
    if name in in_path:
        return "path"
    return "query" if action.method in ("GET", "DELETE", "HEAD") else "body"


def _path_names(action: ActionSpec) -> set[str]:
    try:
        return {name for _ns, name in variables(action.path)}
    except CatalogError:
        return set()


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
