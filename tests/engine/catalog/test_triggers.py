"""`webhooks` and `triggers` in definitions: validated like the rest, errors name the file and the key."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from plughub.engine.catalog import bundled_specs, describe_integration, load_file
from plughub.engine.catalog.schema import definition_schema
from plughub.exceptions import CatalogError

GOOD: dict[str, Any] = {
    "id": "acme",
    "display_name": "Acme",
    "base_url": "https://${connection_config.region}.acme.example/api",
    "connection_config": {"region": {"type": "string", "default": "eu"}},
    "auth": [{"mode": "API_KEY", "apply": {"header": "X-Api-Key"}}],
    "actions": {
        "ACME_CREATE_WEBHOOK": {
            "display_name": "Create webhook",
            "method": "POST",
            "path": "/webhooks",
            "inputs": {
                "url": {"type": "string", "required": True},
                "secret": {"type": "string"},
                "channel": {"type": "string"},
                "events": {"type": "array", "items": {"type": "string"}},
            },
        },
        "ACME_DELETE_WEBHOOK": {
            "display_name": "Delete webhook",
            "method": "DELETE",
            "path": "/webhooks/${inputs.id}",
            "inputs": {"id": {"type": "string", "required": True}},
        },
        "ACME_LIST_CONTACTS": {
            "display_name": "List contacts",
            "path": "/contacts",
            "inputs": {"tag": {"type": "string"}},
        },
    },
    "webhooks": {
        "verify": {
            "method": "hmac-sha256",
            "header": "X-Acme-Signature",
            "prefix": "sha256=",
            "secret": "${subscription.webhook_secret}",
        },
        "event_type": {"pointer": "/type"},
        "delivery_id": {"header": "X-Acme-Delivery"},
        "challenge": {"pointer": "/challenge", "when": {"pointer": "/type", "equals": "url_check"}},
    },
    "triggers": {
        "ACME_MESSAGE_POSTED": {
            "display_name": "Message posted",
            "description": "A message was posted in a channel.",
            "type": "webhook",
            "events": ["message.posted"],
            "filter": {"pointer": "/channel", "equals": "${config.channel}"},
            "config": {"channel": {"type": "string", "required": True, "description": "Channel id"}},
            "subscribe": {
                "action": "ACME_CREATE_WEBHOOK",
                "inputs": {
                    "url": "${subscription.webhook_url}",
                    "secret": "${subscription.webhook_secret}",
                    "channel": "${config.channel}",
                    "events": ["message.posted"],
                },
                "provider_id": "/id",
            },
            "unsubscribe": {"action": "ACME_DELETE_WEBHOOK", "inputs": {"id": "${subscription.provider_id}"}},
        },
        "ACME_NEW_CONTACT": {
            "display_name": "New contact",
            "type": "poll",
            "action": "ACME_LIST_CONTACTS",
            "inputs": {"tag": "${config.tag}"},
            "config": {"tag": {"type": "string"}},
            "items": "/contacts",
            "id": "/id",
            "interval": 600,
        },
    },
}


def _write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "acme.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _changed(change: Any) -> dict[str, Any]:
    data = copy.deepcopy(GOOD)
    change(data)
    return data


def _fails(tmp_path: Path, data: dict[str, Any], *fragments: str) -> str:
    path = _write(tmp_path, data)
    with pytest.raises(CatalogError, match=re.escape(str(path))) as info:
        load_file(path)
    for fragment in fragments:
        assert fragment in info.value.message, (fragment, info.value.message)
    return info.value.message


def test_the_good_definition_loads_and_is_described(tmp_path: Path) -> None:
    spec = load_file(_write(tmp_path, GOOD))
    assert spec.webhooks is not None and spec.webhooks.verify.signature_header == "X-Acme-Signature"
    info = describe_integration(spec)
    webhook, poll = info.triggers
    assert (webhook.code, webhook.type, webhook.events, webhook.subscribes) == (
        "ACME_MESSAGE_POSTED",
        "webhook",
        ["message.posted"],
        True,
    )
    assert [(f.code, f.required, f.description) for f in webhook.config] == [("channel", True, "Channel id")]
    assert webhook.config_schema == {
        "type": "object",
        "properties": {"channel": {"type": "string", "description": "Channel id"}},
        "required": ["channel"],
        "additionalProperties": False,
    }
    assert (poll.code, poll.type, poll.interval, poll.events, poll.subscribes) == (
        "ACME_NEW_CONTACT",
        "poll",
        600,
        [],
        False,
    )
    assert info.model_dump()["triggers"][1]["config"][0]["required"] is False


def test_the_definition_validates_against_the_json_schema() -> None:
    validator = Draft202012Validator(definition_schema())
    assert validator.is_valid(json.loads(json.dumps(GOOD)))
    bad_type = _changed(lambda d: d["triggers"]["ACME_NEW_CONTACT"].update(type="cron"))
    assert not validator.is_valid(bad_type)
    extra = _changed(lambda d: d["webhooks"]["verify"].update(algorithm="md5"))
    assert not validator.is_valid(extra)


@pytest.mark.parametrize(
    ("change", "fragments"),
    [
        (
            lambda d: d["triggers"]["ACME_MESSAGE_POSTED"]["subscribe"].update(action="ACME_MAKE_HOOK"),
            ["triggers.ACME_MESSAGE_POSTED.subscribe.action", "ACME_MAKE_HOOK is not an action"],
        ),
        (
            lambda d: d["triggers"]["ACME_MESSAGE_POSTED"]["unsubscribe"].update(action="ACME_GONE"),
            ["triggers.ACME_MESSAGE_POSTED.unsubscribe.action", "ACME_GONE is not an action"],
        ),
        (
            lambda d: d["triggers"]["ACME_NEW_CONTACT"].update(action="ACME_LIST_PEOPLE"),
            ["triggers.ACME_NEW_CONTACT.action", "ACME_LIST_PEOPLE is not an action"],
        ),
        (
            lambda d: d["triggers"]["ACME_MESSAGE_POSTED"]["subscribe"]["inputs"].update(url="${subscription.url}"),
            ["subscribe.inputs.url", "unknown variable ${subscription.url}", "webhook_url"],
        ),
        (
            lambda d: d["triggers"]["ACME_MESSAGE_POSTED"]["subscribe"]["inputs"].update(
                channel="${subscription.provider_id}"
            ),
            ["subscribe.inputs.channel", "unknown variable ${subscription.provider_id}"],
        ),
        (
            lambda d: d["triggers"]["ACME_MESSAGE_POSTED"]["subscribe"]["inputs"].update(secret="${app.client_secret}"),
            ["subscribe.inputs.secret", "unknown variable ${app.client_secret}"],
        ),
        (
            lambda d: d["triggers"]["ACME_MESSAGE_POSTED"]["subscribe"]["inputs"].update(channel="${config.chanel}"),
            ["subscribe.inputs.channel", "unknown variable ${config.chanel} (declared: channel)"],
        ),
        (
            lambda d: d["triggers"]["ACME_MESSAGE_POSTED"]["subscribe"]["inputs"].update(events=["${inputs.events}"]),
            ["subscribe.inputs.events.0", "${inputs.events} cannot be used here"],
        ),
        (
            lambda d: d["triggers"]["ACME_MESSAGE_POSTED"]["subscribe"]["inputs"].update(colour="blue"),
            ["subscribe.inputs", "colour is not an input of ACME_CREATE_WEBHOOK"],
        ),
        (
            lambda d: d["triggers"]["ACME_MESSAGE_POSTED"]["subscribe"]["inputs"].pop("url"),
            ["subscribe.inputs", "ACME_CREATE_WEBHOOK needs url"],
        ),
        (
            lambda d: d["triggers"]["ACME_MESSAGE_POSTED"]["subscribe"].pop("provider_id"),
            ["subscribe.provider_id", "unsubscribe uses ${subscription.provider_id}"],
        ),
        (
            lambda d: d["triggers"]["ACME_MESSAGE_POSTED"].pop("subscribe"),
            ["triggers.ACME_MESSAGE_POSTED", "unsubscribe without subscribe"],
        ),
        (
            lambda d: d["triggers"]["ACME_MESSAGE_POSTED"]["filter"].update(equals="${config.room}"),
            ["triggers.ACME_MESSAGE_POSTED.filter.equals", "unknown variable ${config.room}"],
        ),
        (
            lambda d: d["triggers"]["ACME_MESSAGE_POSTED"]["filter"].update(exists=True),
            ["triggers.ACME_MESSAGE_POSTED.filter", "exactly one of equals, in or exists"],
        ),
        (
            lambda d: d["triggers"]["ACME_MESSAGE_POSTED"].update(
                filter={"pointer": "/a", "in": "x-${config.channel}"}
            ),
            ["filter.in", "exactly one variable"],
        ),
        (
            lambda d: d["triggers"]["ACME_MESSAGE_POSTED"]["filter"].update(pointer="channel"),
            ["triggers.ACME_MESSAGE_POSTED.filter.pointer", "not a JSON pointer; write '/channel'"],
        ),
        (
            lambda d: d["triggers"]["ACME_NEW_CONTACT"].update(interval=0),
            ["triggers.ACME_NEW_CONTACT.interval", "greater than or equal to 1"],
        ),
        (
            lambda d: d["triggers"]["ACME_NEW_CONTACT"].pop("id"),
            ["triggers.ACME_NEW_CONTACT.id", "Field required"],
        ),
        (
            lambda d: d["triggers"]["ACME_NEW_CONTACT"].update(events=["x"]),
            ["triggers.ACME_NEW_CONTACT.events", "Extra inputs are not permitted"],
        ),
        (
            lambda d: d["triggers"]["ACME_NEW_CONTACT"]["inputs"].update(tag="${subscription.webhook_url}"),
            ["triggers.ACME_NEW_CONTACT.inputs.tag", "${subscription.webhook_url} cannot be used here"],
        ),
        (
            lambda d: d["triggers"]["ACME_NEW_CONTACT"]["config"]["tag"].update(colour="red"),
            ["triggers.ACME_NEW_CONTACT.config.tag.colour", "not a JSON Schema keyword"],
        ),
        (
            lambda d: d["triggers"]["ACME_NEW_CONTACT"]["config"]["tag"].update(type="strin"),
            ["triggers.ACME_NEW_CONTACT.config", "not valid JSON Schema"],
        ),
        (
            lambda d: d["triggers"].update(NEW_CONTACT=d["triggers"].pop("ACME_NEW_CONTACT")),
            ["triggers.NEW_CONTACT", "start with ACME_"],
        ),
        (
            lambda d: d["triggers"].update(ACME_LIST_CONTACTS=d["triggers"].pop("ACME_NEW_CONTACT")),
            ["triggers.ACME_LIST_CONTACTS", "is also an action"],
        ),
        (
            lambda d: d.pop("webhooks"),
            ["triggers.ACME_MESSAGE_POSTED", "needs the integration's webhooks key"],
        ),
        (
            lambda d: d["webhooks"].pop("event_type"),
            ["triggers.ACME_MESSAGE_POSTED.events", "add webhooks.event_type"],
        ),
        (
            lambda d: d["webhooks"]["verify"].pop("header"),
            ["webhooks.verify", "method hmac-sha256 needs header"],
        ),
        (
            lambda d: d["webhooks"]["verify"].pop("secret"),
            ["webhooks.verify", "method hmac-sha256 needs secret"],
        ),
        (
            lambda d: d["webhooks"]["verify"].update(tolerance=60),
            ["webhooks.verify", "tolerance applies to stripe, slack and standard-webhooks"],
        ),
        (
            lambda d: d["webhooks"]["verify"].update(method="none"),
            ["webhooks.verify", "method none checks nothing"],
        ),
        (
            lambda d: d["webhooks"]["verify"].update(method="stripe"),
            ["webhooks.verify", "prefix applies to hmac-sha256 and hmac-sha1, not stripe"],
        ),
        (
            lambda d: d["webhooks"]["verify"].update(method="sha256"),
            ["webhooks.verify.method", "'hmac-sha256'"],
        ),
        (
            lambda d: d["webhooks"]["verify"].update(encoding="base32"),
            ["webhooks.verify.encoding"],
        ),
        (
            lambda d: d["webhooks"]["verify"].update(secret="${config.channel}-${config.tag}"),
            ["webhooks.verify.secret", "unknown variable ${config.tag} (declared: channel)"],
        ),
        (
            lambda d: d["webhooks"]["verify"].update(secret="${credentials.password}"),
            ["webhooks.verify.secret", "unknown variable ${credentials.password} (declared: api_key)"],
        ),
        (
            lambda d: d["webhooks"]["verify"].update(secret="${app.signing_key}"),
            ["webhooks.verify.secret", "unknown variable ${app.signing_key}"],
        ),
        (
            lambda d: d["webhooks"].update(event_type={"header": "X-Type", "pointer": "/type"}),
            ["webhooks.event_type", "exactly one of header or pointer"],
        ),
        (
            lambda d: d["webhooks"].update(body="xml"),
            ["webhooks.body", "'json' or 'form'"],
        ),
    ],
)
def test_broken_triggers_are_refused_with_the_key(tmp_path: Path, change: Any, fragments: list[str]) -> None:
    _fails(tmp_path, _changed(change), *fragments)


def test_verify_secret_may_use_what_each_place_offers(tmp_path: Path) -> None:
    for secret in (
        "${app.signing_secret}",
        "${app.client_secret}",
        "${credentials.api_key}",
        "${config.channel}",
        "${connection_config.region}-${subscription.webhook_secret}",
    ):
        data = _changed(lambda d, s=secret: d["webhooks"]["verify"].update(secret=s))
        assert load_file(_write(tmp_path, data)).webhooks is not None


def test_timed_methods_take_their_defaults(tmp_path: Path) -> None:
    data = _changed(lambda d: d["webhooks"].update(verify={"method": "slack", "secret": "${app.signing_secret}"}))
    verify = load_file(_write(tmp_path, data)).webhooks.verify  # type: ignore[union-attr]
    assert (verify.signature_header, verify.effective_timestamp_header, verify.effective_tolerance) == (
        "X-Slack-Signature",
        "X-Slack-Request-Timestamp",
        300,
    )


# --- the bundled triggers ---------------------------------------------------------------------


def _with_triggers() -> dict[str, Any]:
    return {key: spec for key, spec in bundled_specs().items() if spec.triggers}


def test_at_least_twelve_integrations_have_triggers() -> None:
    assert len(_with_triggers()) >= 12, sorted(_with_triggers())
    kinds = {t.type for spec in _with_triggers().values() for t in spec.triggers.values()}
    assert kinds == {"webhook", "poll"}


def test_the_required_providers_have_their_triggers() -> None:
    specs = bundled_specs()
    github = specs["github"]
    assert {"issues", "pull_request", "push"} <= {e for t in github.triggers.values() for e in getattr(t, "events", [])}
    hook = github.triggers["GITHUB_ISSUE_OPENED"]
    assert hook.subscribe is not None and hook.subscribe.inputs["config"]["secret"] == "${subscription.webhook_secret}"
    assert hook.subscribe.inputs["config"]["content_type"] == "json"
    stripe = specs["stripe"].triggers["STRIPE_PAYMENT_INTENT_SUCCEEDED"]
    assert stripe.subscribe is not None and stripe.subscribe.webhook_secret == "/secret"
    assert stripe.unsubscribe is not None and specs["stripe"].actions[stripe.unsubscribe.action].method == "DELETE"
    slack = specs["slack"].webhooks
    assert slack is not None and slack.verify.method == "slack" and slack.challenge is not None
    assert specs["shopify"].webhooks.verify.encoding == "base64"  # type: ignore[union-attr]
    twilio = specs["twilio"].webhooks
    assert twilio is not None and (twilio.verify.method, twilio.body) == ("twilio", "form")
    polls = [key for key, spec in _with_triggers().items() if any(t.type == "poll" for t in spec.triggers.values())]
    assert len(polls) >= 3, polls


def test_every_webhook_integration_says_how_deliveries_are_named() -> None:
    for key, spec in _with_triggers().items():
        if spec.webhooks is not None:
            assert spec.webhooks.delivery_id is not None, f"{key}: duplicates could not be dropped"
