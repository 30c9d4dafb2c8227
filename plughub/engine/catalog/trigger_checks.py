"""Checks of `webhooks` and `triggers` that the models alone cannot make (DESIGN.md §10).

Each problem starts with the definition key at fault, as the loader's other checks do: the
actions a trigger names exist and get the inputs they need, and every template uses only the
variables its place offers:

- `webhooks.verify.secret`: `subscription.webhook_secret`, `config.x` (declared by every webhook
  trigger), `app.x`, `credentials.x`, `connection_config.x`;
- a trigger's `filter`: `config.x`, `connection_config.x`;
- `subscribe.inputs`: `config.x`, `connection_config.x`, `app.client_id`, `subscription.id`,
  `subscription.webhook_url`, `subscription.webhook_secret`;
- `unsubscribe.inputs`: the same and `subscription.provider_id`;
- a poll's `inputs`: `config.x`, `connection_config.x`, `app.client_id`.

The OAuth app's secret fields (`client_secret`, `signing_secret`, `webhook_secret`) check
signatures only: no template sends them anywhere.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from plughub.engine.catalog.templates import template_problems, variables
from plughub.engine.catalog.triggers import ConditionSpec, PollTriggerSpec, WebhooksSpec, WebhookTriggerSpec
from plughub.exceptions import CatalogError

if TYPE_CHECKING:
    from plughub.engine.catalog.models import IntegrationSpec

__all__ = ["APP_FIELDS", "APP_SECRET_FIELDS", "SUBSCRIPTION_FIELDS", "trigger_problems"]

APP_FIELDS = frozenset({"client_id"})
APP_SECRET_FIELDS = frozenset({"client_secret", "signing_secret", "webhook_secret"})
SUBSCRIPTION_FIELDS = frozenset({"id", "webhook_url", "webhook_secret", "provider_id"})
_CODE_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def trigger_problems(spec: IntegrationSpec) -> Iterator[str]:
    """List what is wrong with a definition's `webhooks` and `triggers`.

    Args:
        spec: The definition (already valid as far as the models go).

    Yields:
        Problems, each starting with the key at fault.
    """
    config = set(spec.connection_config)
    webhook_triggers = {c: t for c, t in spec.triggers.items() if isinstance(t, WebhookTriggerSpec)}
    if spec.webhooks is not None:
        yield from _webhooks_problems(spec, spec.webhooks, webhook_triggers, config)
    for code, trigger in spec.triggers.items():
        key = f"triggers.{code}"
        if not set(code) <= _CODE_CHARS or not code.startswith(spec.action_prefix) or code == spec.action_prefix:
            yield f"{key}: trigger codes are upper snake case and start with {spec.action_prefix}"
        if code in spec.actions:
            yield f"{key}: {code} is also an action; give the trigger its own code"
        own = {"config": set(trigger.config), "connection_config": config}
        if trigger.filter is not None:
            yield from _condition_problems(f"{key}.filter", trigger.filter, own)
        if isinstance(trigger, WebhookTriggerSpec):
            yield from _webhook_trigger_problems(spec, key, trigger, own)
        else:
            yield from _poll_problems(spec, key, trigger, own)


def _webhooks_problems(
    spec: IntegrationSpec,
    webhooks: WebhooksSpec,
    webhook_triggers: Mapping[str, WebhookTriggerSpec],
    config: set[str],
) -> Iterator[str]:
    if webhooks.challenge is not None:
        yield from _condition_problems("webhooks.challenge.when", webhooks.challenge.when, {})
    verify = webhooks.verify
    if verify.secret is None:
        return
    # A config value is there only if every webhook trigger asks for it.
    shared = set.intersection(*(set(t.config) for t in webhook_triggers.values())) if webhook_triggers else set()
    credentials = {
        name for auth in spec.auth if auth.mode not in ("OAUTH1", "OAUTH2") for name in auth.credential_fields()
    }
    allowed = {
        "subscription": {"webhook_secret"},
        "config": shared,
        "app": set(APP_FIELDS | APP_SECRET_FIELDS),
        "credentials": credentials,
        "connection_config": config,
    }
    yield from template_problems("webhooks.verify.secret", verify.secret, allowed)


def _webhook_trigger_problems(
    spec: IntegrationSpec, key: str, trigger: WebhookTriggerSpec, own: dict[str, set[str]]
) -> Iterator[str]:
    if spec.webhooks is None:
        yield f"{key}: a webhook trigger needs the integration's webhooks key (how deliveries are checked)"
        return
    if trigger.events and spec.webhooks.event_type is None:
        yield f"{key}.events: add webhooks.event_type (the header or pointer that names a delivery's event type)"
    if len(set(trigger.events)) != len(trigger.events):
        yield f"{key}.events: an event type is listed twice"
    app = {"app": set(APP_FIELDS)}
    if trigger.subscribe is not None:
        subscription = {"subscription": set(SUBSCRIPTION_FIELDS - {"provider_id"})}
        yield from _call_problems(
            spec, f"{key}.subscribe", trigger.subscribe.action, trigger.subscribe.inputs, own | app | subscription
        )
    if trigger.unsubscribe is not None:
        fields = set(SUBSCRIPTION_FIELDS)
        uses_id = any(("subscription", "provider_id") in _used(value) for value in _strings(trigger.unsubscribe.inputs))
        if uses_id and (trigger.subscribe is None or trigger.subscribe.provider_id is None):
            yield f"{key}.subscribe.provider_id: unsubscribe uses ${{subscription.provider_id}}; say where it is"
        yield from _call_problems(
            spec,
            f"{key}.unsubscribe",
            trigger.unsubscribe.action,
            trigger.unsubscribe.inputs,
            own | app | {"subscription": fields},
        )


def _poll_problems(
    spec: IntegrationSpec, key: str, trigger: PollTriggerSpec, own: dict[str, set[str]]
) -> Iterator[str]:
    yield from _call_problems(spec, key, trigger.action, trigger.inputs, own | {"app": set(APP_FIELDS)})


def _call_problems(
    spec: IntegrationSpec, key: str, code: str, inputs: Mapping[str, Any], allowed: Mapping[str, set[str]]
) -> Iterator[str]:
    action = spec.actions.get(code)
    if action is None:
        yield f"{key}.action: {code} is not an action of this integration"
        return
    unknown = sorted(set(inputs) - set(action.inputs))
    if unknown:
        known = ", ".join(action.inputs) or "none"
        yield f"{key}.inputs: {', '.join(unknown)} is not an input of {code} (inputs: {known})"
    missing = [name for name, spec_input in action.inputs.items() if spec_input.is_required and name not in inputs]
    if missing:
        yield f"{key}.inputs: {code} needs {', '.join(missing)}"
    for name, value in inputs.items():
        for where, text in _strings(value, f"{key}.inputs.{name}"):
            yield from template_problems(where, text, allowed)


def _condition_problems(key: str, condition: ConditionSpec, allowed: Mapping[str, set[str]]) -> Iterator[str]:
    value = condition.in_ if condition.in_ is not None else condition.equals
    name = "in" if condition.in_ is not None else "equals"
    if isinstance(condition.in_, str) and _whole_variable(condition.in_) is None:
        yield f"{key}.in: a list, or exactly one variable whose value is a list (e.g. ${{config.labels}})"
    for where, text in _strings(value, f"{key}.{name}"):
        yield from template_problems(where, text, allowed)


def _strings(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield key, value
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from _strings(v, f"{key}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, f"{key}.{i}")


def _used(item: tuple[str, str]) -> tuple[tuple[str, str], ...]:
    try:
        return variables(item[1])
    except CatalogError:
        return ()


def _whole_variable(text: str) -> tuple[str, str] | None:
    try:
        found = variables(text)
    except CatalogError:
        return None
    if len(found) == 1 and text == f"${{{found[0][0]}.{found[0][1]}}}":
        return found[0]
    return None
