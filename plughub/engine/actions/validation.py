"""Check action inputs against their JSON Schema and explain every problem by field.

Two validators per action, both compiled once: jsonschema-rs answers "valid?" in a fraction of a
microsecond, so inputs that pass cost next to nothing; inputs it refuses go to jsonschema, whose
verdict stands and whose messages name each problem. Neither fetches a remote `$ref`. jsonschema
(about 9 MB once imported) is loaded on the first refusal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jsonschema_rs

from plughub.engine.catalog.models import ActionSpec
from plughub.exceptions import InvalidInput, MissingInputs, UnknownInputs

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

__all__ = ["InputValidator"]


@dataclass
class _Compiled:
    action: ActionSpec  # kept so that its id is not reused by another action while cached
    fast: Any  # jsonschema-rs's validator; None when it cannot compile the schema
    explaining: Any = None  # jsonschema's, built on the first refusal


class InputValidator:
    """Validators compiled once per action and reused."""

    def __init__(self) -> None:
        self._compiled: dict[int, _Compiled] = {}

    def _entry(self, action: ActionSpec) -> _Compiled:
        entry = self._compiled.get(id(action))
        if entry is None or entry.action is not action:
            entry = self._compiled[id(action)] = _Compiled(action, _fast_validator(action.input_schema))
        return entry

    def _explaining(self, entry: _Compiled) -> Any:
        if entry.explaining is None:
            from jsonschema import Draft202012Validator, FormatChecker

            entry.explaining = Draft202012Validator(entry.action.input_schema, format_checker=FormatChecker())
        return entry.explaining

    def validate(self, code: str, action: ActionSpec, inputs: Mapping[str, Any]) -> None:
        """Check inputs before anything is sent.

        Args:
            code: The action code, for messages.
            action: The action.
            inputs: The inputs given.

        Raises:
            MissingInputs: Required inputs are missing (all of them are named).
            UnknownInputs: Inputs the action does not take (the accepted ones are listed).
            InvalidInput: An input breaks its schema (the field and the problem are named).
        """
        if not isinstance(inputs, Mapping):
            raise InvalidInput(
                f"inputs of {code} must be a mapping of input name to value, not {type(inputs).__name__}"
            )
        missing = [
            n
            for n in action.input_schema["required"]
            if inputs.get(n) is None and not _has_fallback(action.inputs[n].json_schema())
        ]
        unknown = (
            sorted(k for k in inputs if k not in action.inputs) if not inputs.keys() <= action.inputs.keys() else []
        )
        accepted = sorted(action.inputs) if missing or unknown else []
        if missing:
            extra = (
                f" Unknown inputs were also given: {', '.join(unknown)}; it accepts: {', '.join(accepted)}."
                if unknown
                else ""
            )
            raise MissingInputs(
                f"{code} needs {_plural(missing, 'input')} {', '.join(repr(m) for m in missing)}.{extra}",
                details={"missing": missing, "unknown": unknown, "accepted": accepted},
            )
        if unknown:
            raise UnknownInputs(
                f"{code} does not take {_plural(unknown, 'input')} {', '.join(repr(u) for u in unknown)}; "
                f"it accepts: {', '.join(accepted) or 'no inputs'}.",
                details={"unknown": unknown, "accepted": accepted},
            )
        present = {k: v for k, v in inputs.items() if v is not None}
        for name in action.input_schema["required"]:
            # A required input left out but carrying a const or default is filled with it.
            if name in present:
                continue
            schema = action.inputs[name].json_schema()
            if _has_fallback(schema):
                present[name] = schema["const"] if "const" in schema else schema["default"]
        entry = self._entry(action)
        if entry.fast is not None and _passes(entry.fast, present):
            return
        errors = sorted(self._explaining(entry).iter_errors(present), key=lambda e: list(map(str, e.path)))
        if errors:
            problems = [_describe(e) for e in errors[:5]]
            raise InvalidInput(
                f"{code}: " + "; ".join(problems),
                details={"problems": problems},
            )


def _refuse_retrieval(uri: str) -> Any:
    raise ValueError(f"plughub does not fetch schemas ({uri}): define the input inline")


def _fast_validator(schema: dict[str, Any]) -> Any:
    """The jsonschema-rs validator of a schema, asserting formats as jsonschema's FormatChecker does.

    None when it cannot compile the schema: jsonschema alone then decides.
    """
    try:
        return jsonschema_rs.validator_for(schema, validate_formats=True, retriever=_refuse_retrieval)
    except ValueError:  # jsonschema_rs.ValidationError is one
        return None


def _passes(fast: Any, inputs: dict[str, Any]) -> bool:
    try:
        return bool(fast.is_valid(inputs))
    except ValueError:  # a value JSON has no type for (a set, a date): jsonschema decides
        return False


def _has_fallback(schema: dict[str, Any]) -> bool:
    return "const" in schema or "default" in schema


def _describe(error: ValidationError) -> str:
    where = ".".join(str(p) for p in error.absolute_path) or "inputs"
    return f"input '{where}': {error.message}"


def _plural(items: list[str], word: str) -> str:
    return word if len(items) == 1 else word + "s"
