"""Turn definitions into the public descriptions the SDK shows."""

from __future__ import annotations

from typing import Any

from plughub.engine.catalog.models import ActionSpec, FieldSpec, IntegrationSpec, OAuth2Spec
from plughub.engine.catalog.triggers import PollTriggerSpec, TriggerSpec, WebhookTriggerSpec
from plughub.schemas import ActionInfo, ActionSummary, AuthSchemeInfo, InputField, IntegrationInfo, TriggerInfo

__all__ = ["describe_action", "describe_integration", "describe_trigger", "field_input", "humanize"]

_DATATYPES = {
    "string": "text",
    "integer": "number",
    "number": "number",
    "boolean": "boolean",
    "array": "array",
    "object": "object",
}


_ACRONYMS = {"api": "API", "id": "ID", "url": "URL", "sid": "SID", "dc": "DC", "oauth": "OAuth", "jql": "JQL"}


def humanize(code: str) -> str:
    """Turn an input code into a label: `api_key` -> `API key`, `account_sid` -> `Account SID`.

    Args:
        code: The code.

    Returns:
        The label.
    """
    words = [_ACRONYMS.get(w.lower(), w.lower()) for w in code.split("_") if w]
    if words and words[0] == words[0].lower():
        words[0] = words[0].capitalize()
    return " ".join(words) or code


def field_input(code: str, spec: FieldSpec, *, secret_default: bool) -> InputField:
    """Describe a connect field as an input.

    Args:
        code: The field's key.
        spec: The field.
        secret_default: Whether the field is secret when it does not say.

    Returns:
        The input description.
    """
    return InputField(
        code=code,
        name=spec.title or humanize(code),
        description=spec.description,
        datatype=_DATATYPES[spec.type],
        required=spec.required,
        secret=secret_default if spec.secret is None else spec.secret,
        default=spec.default,
        enum=spec.enum,
        pattern=spec.pattern,
        json_schema=spec.json_schema(),
    )


def describe_integration(spec: IntegrationSpec, *, source: str = "bundled") -> IntegrationInfo:
    """Describe an integration: its schemes and the connect inputs of each.

    Args:
        spec: The definition.
        source: Where it came from.

    Returns:
        The description.
    """
    config_inputs = [field_input(k, f, secret_default=False) for k, f in spec.connection_config.items()]
    schemes = []
    for auth in spec.auth:
        inputs = []
        if auth.mode not in ("OAUTH1", "OAUTH2") or (isinstance(auth, OAuth2Spec) and auth.discovery):
            inputs = [field_input(k, f, secret_default=True) for k, f in auth.credential_fields().items()]
        elif isinstance(auth, OAuth2Spec) and auth.grant_type == "client_credentials":
            inputs = [
                InputField(code="client_id", name="Client ID", secret=False),
                InputField(code="client_secret", name="Client secret", secret=True),
            ]
        scopes = list(auth.default_scopes) if isinstance(auth, OAuth2Spec) else []
        schemes.append(AuthSchemeInfo(scheme=auth.scheme, inputs=inputs + config_inputs, scopes=scopes))
    return IntegrationInfo(
        id=spec.id,
        name=spec.display_name,
        description=spec.description,
        supplier=spec.supplier or "plughub",
        categories=list(spec.categories),
        docs=spec.docs,
        base_url=spec.base_url,
        auth_schemes=schemes,
        action_count=len(spec.actions),
        actions=[
            ActionSummary(code=c, name=a.display_name, description=a.description) for c, a in spec.actions.items()
        ],
        triggers=[describe_trigger(code, trigger) for code, trigger in spec.triggers.items()],
        source=source,
    )


def describe_action(code: str, action: ActionSpec) -> ActionInfo:
    """Describe an action and its inputs.

    Args:
        code: The action code.
        action: The action.

    Returns:
        The description, with the inputs' JSON Schema.
    """
    inputs = [
        _schema_input(name, spec.json_schema(), required=spec.is_required, location=spec.location)
        for name, spec in action.inputs.items()
    ]
    return ActionInfo(
        code=code,
        name=action.display_name,
        description=action.description,
        method=action.method,
        path=action.path,
        inputs=inputs,
        input_schema=action.input_schema,
        pagination=action.pagination.type if action.pagination is not None else None,
    )


def describe_trigger(code: str, trigger: TriggerSpec) -> TriggerInfo:
    """Describe a trigger and the config a subscriber gives.

    Args:
        code: The trigger code.
        trigger: The trigger.

    Returns:
        The description, with the config's JSON Schema.
    """
    config = [
        _schema_input(name, spec.json_schema(), required=spec.is_required, secret=spec.secret)
        for name, spec in trigger.config.items()
    ]
    return TriggerInfo(
        code=code,
        name=trigger.display_name,
        description=trigger.description,
        type=trigger.type,
        events=list(trigger.events) if isinstance(trigger, WebhookTriggerSpec) else [],
        config=config,
        config_schema=trigger.config_schema,
        subscribes=isinstance(trigger, WebhookTriggerSpec) and trigger.subscribe is not None,
        interval=trigger.interval if isinstance(trigger, PollTriggerSpec) else None,
    )


def _schema_input(
    name: str, schema: dict[str, Any], *, required: bool, location: str | None = None, secret: bool = False
) -> InputField:
    kind = schema.get("type", "string")
    return InputField(
        code=name,
        name=schema.get("title") or humanize(name),
        description=schema.get("description", ""),
        datatype=_DATATYPES.get(kind, "text") if isinstance(kind, str) else "text",
        required=required,
        secret=secret,
        default=schema.get("default"),
        enum=schema.get("enum"),
        location=location,
        json_schema=schema,
    )
