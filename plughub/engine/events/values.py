"""What triggers' templates and conditions need: deep filling of `${...}`, config checks, filters."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from plughub.engine.catalog.templates import render
from plughub.engine.catalog.triggers import ConditionSpec, TriggerSpec
from plughub.engine.json_pointer import MISSING, resolve
from plughub.exceptions import InvalidInput, MissingInputs, UnknownInputs

__all__ = ["check_config", "fill", "matches"]

_WHOLE = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)\}$")


def fill(value: Any, values: Mapping[str, Mapping[str, Any]]) -> Any:
    """Fill the templates inside a value (dicts and lists walked).

    A string that is exactly one variable takes the variable's value as it is (a list stays a
    list, a number a number); other strings are rendered as text.

    Args:
        value: The value from the definition.
        values: Values by namespace, then by name.

    Returns:
        The filled value.

    Raises:
        InvalidInput: A variable has no value.
    """
    if isinstance(value, str):
        whole = _WHOLE.match(value)
        if whole:
            found = values.get(whole.group(1), {}).get(whole.group(2))
            if found is None:
                raise InvalidInput(f"no value for {value}: provide '{whole.group(2)}'")
            return found
        return render(value, values)
    if isinstance(value, Mapping):
        return {k: fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, values) for v in value]
    return value


def check_config(code: str, trigger: TriggerSpec, config: Mapping[str, Any]) -> None:
    """Check a subscriber's config against the trigger's `config`, as action inputs are checked.

    Args:
        code: The trigger code, for messages.
        trigger: The trigger.
        config: The config given.

    Raises:
        MissingInputs: Required values are missing (all are named).
        UnknownInputs: Values the trigger does not take (the accepted ones are listed).
        InvalidInput: A value breaks its schema (the field and the problem are named).
    """
    if not isinstance(config, Mapping):
        raise InvalidInput(f"config of {code} must be a mapping of name to value, not {type(config).__name__}")
    unknown = sorted(set(config) - set(trigger.config))
    if unknown:
        accepted = ", ".join(sorted(trigger.config)) or "none"
        raise UnknownInputs(
            f"{code} does not take {', '.join(unknown)} in its config (accepted: {accepted})",
            details={"unknown": unknown, "accepted": sorted(trigger.config)},
        )
    missing = [name for name, spec in trigger.config.items() if spec.is_required and config.get(name) is None]
    if missing:
        wanted = ", ".join(repr(m) + ": ..." for m in missing)
        raise MissingInputs(
            f"{code} needs config {', '.join(missing)}: pass config={{{wanted}}}",
            details={"missing": missing},
        )
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(trigger.config_schema)
    for error in sorted(validator.iter_errors(dict(config)), key=lambda e: list(e.path)):
        field = ".".join(str(p) for p in error.path) or "config"
        shown = "" if _secret_field(trigger, field) else f": {error.message}"
        raise InvalidInput(f"config {field} of {code} is not valid{shown}", details={"field": field})


def _secret_field(trigger: TriggerSpec, field: str) -> bool:
    spec = trigger.config.get(field.split(".", 1)[0])
    return bool(spec and spec.secret)


def matches(condition: ConditionSpec, document: Any, values: Mapping[str, Mapping[str, Any]]) -> bool:
    """Whether a document meets a trigger's `filter`.

    Args:
        condition: The condition.
        document: The event's data.
        values: Template values (`config`, `connection_config`).

    Returns:
        True when it matches.
    """
    found = resolve(document, condition.pointer)
    if condition.exists is not None:
        return (found is not MISSING) == condition.exists
    if condition.equals is not None:
        return found is not MISSING and found == fill(condition.equals, values)
    allowed = fill(condition.in_, values)
    return found is not MISSING and isinstance(allowed, list) and found in allowed
