"""Turn definitions into the public descriptions the SDK shows."""

from __future__ import annotations

from typing import Any

from plughub.engine.catalog.models import ActionSpec, FieldSpec, IntegrationSpec, OAuth2Spec
from plughub.schemas import ActionInfo, ActionSummary, AuthSchemeInfo, InputField, IntegrationInfo

__all__ = ["describe_action", "describe_integration", "field_input", "humanize"]

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
        if auth.mode not in ("OAUTH1", "OAUTH2"):
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
    inputs = []
    for name, spec in action.inputs.items():
        schema: dict[str, Any] = spec.json_schema()
        kind = schema.get("type", "string")
        inputs.append(
            InputField(
                code=name,
                name=schema.get("title") or humanize(name),
                description=schema.get("description", ""),
                datatype=_DATATYPES.get(kind, "text") if isinstance(kind, str) else "text",
                required=spec.is_required,
                default=schema.get("default"),
                enum=schema.get("enum"),
                location=spec.location,
                json_schema=schema,
            )
        )
    return ActionInfo(
        code=code,
        name=action.display_name,
        description=action.description,
        method=action.method,
        path=action.path,
        inputs=inputs,
        input_schema=action.input_schema,
    )
