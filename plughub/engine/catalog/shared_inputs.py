"""Shared inputs: a definition's top-level `inputs`, taken by actions with `use` or `$input`.

Many actions take the same inputs (`page`, `per_page`, a cursor). A definition declares them once:

```yaml
inputs:
  per_page: {type: integer, in: query, minimum: 1, maximum: 100, description: Results per page.}
  page: {type: integer, in: query, minimum: 1, description: Page number.}
actions:
  ACME_LIST_NOTES:
    use: [per_page, page]                  # added after the action's own inputs, in this order
  ACME_LIST_TAGS:
    inputs:
      size: {$input: per_page, maximum: 50}  # under another name, with keys of its own on top
```

The loader expands them before validation, so the rest of plughub sees ordinary inputs. A name
that is not a shared input, or a `use` name the action also declares, is a load error naming the
key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["REFERENCE_KEY", "expand_shared_inputs"]

REFERENCE_KEY = "$input"


def expand_shared_inputs(data: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Replace each action's `use` and `$input` references with the shared inputs they name.

    A part of the document that has the wrong shape (an `inputs` that is not a mapping) is left
    for the models to report.

    Args:
        data: The definition as parsed (not modified).

    Returns:
        The definition with expanded action inputs (`use` stays, as a record), and the problems
        found, each starting with the key at fault.
    """
    shared = data.get("inputs")
    actions = data.get("actions")
    if not isinstance(actions, Mapping) or (shared is not None and not isinstance(shared, Mapping)):
        return dict(data), []
    shared = shared or {}
    problems: list[str] = []
    expanded: dict[str, Any] = {}
    for code, action in actions.items():
        if isinstance(action, Mapping):
            action, found = _expand_action(f"actions.{code}", action, shared)
            problems += found
        expanded[code] = action
    return {**data, "actions": expanded}, problems


def _expand_action(key: str, action: Mapping[str, Any], shared: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    own = action.get("inputs")
    use = action.get("use")
    if (own is not None and not isinstance(own, Mapping)) or (use is not None and not isinstance(use, list)):
        return dict(action), []  # the models say what is wrong
    problems: list[str] = []
    inputs: dict[str, Any] = {}
    for name, value in (own or {}).items():
        if isinstance(value, Mapping) and REFERENCE_KEY in value:
            reference = value[REFERENCE_KEY]
            where = f"{key}.inputs.{name}.{REFERENCE_KEY}"
            problem = _unknown(where, reference, shared)
            if problem:
                problems.append(problem)
                continue
            extra = {k: v for k, v in value.items() if k != REFERENCE_KEY}
            inputs[name] = {**shared[reference], **extra}
        else:
            inputs[name] = value
    for index, name in enumerate(use or []):
        where = f"{key}.use.{index}"
        problem = _unknown(where, name, shared)
        if problem:
            problems.append(problem)
        elif name in inputs:
            listed = "listed twice in use" if name in (use or [])[:index] else "also one of the action's own inputs"
            problems.append(
                f"{where}: '{name}' is {listed}; drop one (to change a shared input, write "
                f"{name}: {{{REFERENCE_KEY}: {name}, ...}} under inputs)"
            )
        else:
            inputs[name] = dict(shared[name])
    if not inputs and own is None:
        return dict(action), problems
    return {**action, "inputs": inputs}, problems


def _unknown(where: str, name: Any, shared: Mapping[str, Any]) -> str | None:
    if isinstance(name, str) and name in shared:
        return None
    known = ", ".join(shared) or "none: declare them under the top-level inputs key"
    shown = f"'{name}'" if isinstance(name, str) else f"{name!r} (a name is a string)"
    return f"{where}: {shown} is not a shared input (shared inputs: {known})"
