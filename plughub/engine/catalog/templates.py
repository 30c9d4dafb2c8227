"""`${namespace.name}` templates: strict, with a fixed set of namespaces and no expressions."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from plughub.exceptions import CatalogError, InvalidInput

__all__ = ["NAMESPACES", "render", "template_problems", "variables"]

# `app`, `config` and `subscription` belong to triggers (DESIGN.md §10): the integration's OAuth
# app, the subscriber's config values, and the subscription itself.
NAMESPACES = ("connection_config", "credentials", "inputs", "app", "config", "subscription")
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)\}")
_ANY_PLACEHOLDER = re.compile(r"\$\{[^}]*\}?")


@functools.lru_cache(maxsize=4096)
def variables(template: str) -> tuple[tuple[str, str], ...]:
    """List the variables of a template (remembered: every request asks about its path's).

    Args:
        template: A string that may hold `${namespace.name}` variables.

    Returns:
        `(namespace, name)` pairs in order of appearance.

    Raises:
        CatalogError: A placeholder is malformed or uses an unknown namespace.
    """
    found = tuple(_VARIABLE.findall(template))
    for namespace, name in found:
        if namespace not in NAMESPACES:
            raise CatalogError(
                f"unknown template namespace '{namespace}' in '${{{namespace}.{name}}}'; "
                f"use one of {', '.join(NAMESPACES)}"
            )
    leftover = _ANY_PLACEHOLDER.findall(_VARIABLE.sub("", template))
    if leftover:
        raise CatalogError(f"malformed template placeholder {leftover[0]!r}; write ${{namespace.name}}")
    return found


def template_problems(key: str, template: str, allowed: Mapping[str, set[str]]) -> Iterator[str]:
    """Check that a template uses only the variables a place of the definition allows.

    Args:
        key: The definition key that holds the template (named in each problem).
        template: The template.
        allowed: The names each namespace offers there; a namespace absent cannot be used.

    Yields:
        One problem per malformed placeholder or unknown variable, prefixed with the key.
    """
    try:
        found = variables(template)
    except CatalogError as exc:
        yield f"{key}: {exc.message}"
        return
    for namespace, name in found:
        if namespace not in allowed:
            yield f"{key}: ${{{namespace}.{name}}} cannot be used here"
        elif name not in allowed[namespace]:
            declared = ", ".join(sorted(allowed[namespace])) or "none"
            yield f"{key}: unknown variable ${{{namespace}.{name}}} (declared: {declared})"


def render(
    template: str,
    values: Mapping[str, Mapping[str, Any]],
    *,
    escape: Callable[[str], str] | None = None,
) -> str:
    """Fill a template's variables.

    Args:
        template: The template.
        values: Values by namespace, then by name.
        escape: Applied to every substituted value (percent-encoding for a path).

    Returns:
        The rendered string.

    Raises:
        InvalidInput: A variable has no value.
    """
    if "${" not in template:
        return template

    def substitute(match: re.Match[str]) -> str:
        namespace, name = match.group(1), match.group(2)
        space = values.get(namespace, {})
        if name not in space or space[name] is None:
            raise InvalidInput(f"no value for ${{{namespace}.{name}}}: provide '{name}'")
        text = _as_text(space[name])
        return escape(text) if escape else text

    return _VARIABLE.sub(substitute, template)


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
