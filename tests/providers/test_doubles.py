"""Each bundled webhook trigger against its provider double, over real sockets on 127.0.0.1.

The double signs a delivery as the provider does and POSTs it to a local receiver; the captured
request (exact bytes, headers, URL) must pass the bundled definition's `webhooks.verify` through
plughub's verification module, name its event type and delivery id where the definition says, and
match the trigger's filter; a tampered body (or, for a plain token, a wrong token) must fail.
Subscribing runs the bundled subscribe action through the SDK against the double's registration
API, which then delivers with the secret it was given (or chose).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

import pytest

from plughub import AuthenticationSchema, IntegrationFactory, ModelFactory
from plughub.backends import EmbeddedBackend
from plughub.engine.catalog import bundled_specs
from plughub.engine.catalog.models import IntegrationSpec
from plughub.engine.catalog.templates import render, variables
from plughub.engine.catalog.triggers import ConditionSpec, LocatorSpec, WebhookTriggerSpec
from plughub.engine.events import Refusal, SignedRequest, verify_signature
from plughub.engine.events.signing import new_delivery_secret
from tests.providers.deliveries import BUILDERS
from tests.providers.double import ProviderDouble
from tests.upstream import Reply, Seen, Upstream

WEBHOOK_TRIGGERS = [
    (key, code)
    for key, spec in sorted(bundled_specs().items())
    for code, trigger in spec.triggers.items()
    if isinstance(trigger, WebhookTriggerSpec)
]
# What each provider's sample event carries, so that the bundled filters have something to match.
SAMPLES: dict[str, dict[str, Any]] = {
    "github": {"action": "opened", "issue": {"number": 7, "title": "Bug"}, "repository": {"full_name": "octo/hello"}},
    "stripe": {"id": "pi_123", "object": "payment_intent", "amount": 2000, "currency": "eur"},
    "slack": {"channel": "C0123", "user": "U0456", "text": "hello", "ts": "1700000000.000100"},
    "shopify": {"id": 820982911946154508, "email": "jon@example.com", "total_price": "9.99"},
    "twilio": {"Body": "Ahoy"},
    "gitlab": {"project": {"id": 42}, "object_attributes": {"action": "open", "iid": 3}},
    "intercom": {"type": "conversation", "id": "147"},
    "typeform": {"form_id": "lT4Z3j", "token": "a3a12ec67a1365927098a606107fac15", "answers": []},
    "clerk": {"id": "user_29w83sxmDNGwOuEthce5gg56FcC", "object": "user"},
    "linear": {"action": "create", "id": "2174add1-f7c8-44e3-bbf3-2d60b5ea8bc9", "title": "Bug"},
}
CONFIG = {
    "channel": "C0123",
    "owner": "octo",
    "repo": "hello",
    "project": "42",
    "form_id": "lT4Z3j",
    "phone_number_sid": "PN" + "0" * 32,
}


@pytest.fixture
def receiver() -> Iterator[Upstream]:
    server = Upstream()
    server.route("POST", "/webhooks/tok123", Reply(200, "ok"))
    yield server
    server.close()


def _pointer(document: Any, pointer: str) -> Any:
    for token in pointer.split("/")[1:] if pointer else []:
        token = token.replace("~1", "/").replace("~0", "~")
        document = document[int(token)] if isinstance(document, list) else document[token]
    return document


def _document(spec: IntegrationSpec, seen: Seen) -> Any:
    assert spec.webhooks is not None
    if spec.webhooks.body == "form":
        return dict(parse_qsl(seen.body.decode(), keep_blank_values=True))
    return json.loads(seen.body)


def _locate(spec: IntegrationSpec, locator: LocatorSpec, seen: Seen) -> Any:
    if locator.header is not None:
        return seen.header(locator.header)
    return _pointer(_document(spec, seen), locator.pointer or "")


def _render_value(value: Any, values: dict[str, dict[str, Any]]) -> Any:
    """Render a definition value as part 2 will: a string that is one variable keeps its type."""
    if isinstance(value, dict):
        return {k: _render_value(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_render_value(v, values) for v in value]
    if isinstance(value, str):
        found = variables(value)
        if len(found) == 1 and value == f"${{{found[0][0]}.{found[0][1]}}}":
            return values[found[0][0]][found[0][1]]
        return render(value, values)
    return value


def _values(secret: str) -> dict[str, dict[str, Any]]:
    return {
        "subscription": {"id": "sub123", "webhook_url": "", "webhook_secret": secret, "provider_id": ""},
        "config": {**CONFIG, "signing_secret": secret},
        "app": {"client_id": "client-1", "client_secret": secret, "signing_secret": secret},
        "credentials": {"auth_token": secret},
        "connection_config": {},
    }


def _check(
    spec: IntegrationSpec, trigger: WebhookTriggerSpec, seen: Seen, url: str, secret: str, delivery_id: str
) -> None:
    assert spec.webhooks is not None
    verify = spec.webhooks.verify
    rendered = render(verify.secret or "", _values(secret))
    request = SignedRequest(body=seen.body, headers=seen.headers, url=url)
    result = verify_signature(verify, request, secret=rendered)
    assert result.ok, result.message
    if spec.webhooks.event_type is not None and trigger.events:
        assert _locate(spec, spec.webhooks.event_type, seen) in trigger.events
    assert spec.webhooks.delivery_id is not None
    assert _locate(spec, spec.webhooks.delivery_id, seen) == delivery_id
    if trigger.filter is not None:
        _matches(_document(spec, seen), trigger.filter, _values(secret))
    if verify.method == "token":
        # A plain token does not cover the body: the check that can fail is the token itself.
        assert verify_signature(verify, request, secret=rendered + "x").refusal is Refusal.BAD_SIGNATURE
    else:
        tampered = seen.body.replace(b"o", b"0", 1)
        assert tampered != seen.body
        refused = verify_signature(verify, SignedRequest(tampered, seen.headers, url), secret=rendered)
        assert refused.refusal is Refusal.BAD_SIGNATURE


def _sample(integration: str, trigger: WebhookTriggerSpec, secret: str) -> dict[str, Any]:
    """The provider's sample event, with what a top-level filter looks for (`action: opened`)."""
    sample = dict(SAMPLES[integration])
    condition = trigger.filter
    if condition is not None and condition.equals is not None and condition.pointer.count("/") == 1:
        sample[condition.pointer[1:]] = _render_value(condition.equals, _values(secret))
    return sample


def _matches(document: Any, condition: ConditionSpec, values: dict[str, dict[str, Any]]) -> None:
    found = _pointer(document, condition.pointer)
    if condition.equals is not None:
        assert found == _render_value(condition.equals, values)
    elif condition.in_ is not None:
        assert found in _render_value(condition.in_, values)


@pytest.mark.parametrize(("integration", "code"), WEBHOOK_TRIGGERS, ids=[c for _k, c in WEBHOOK_TRIGGERS])
def test_a_delivery_from_the_double_verifies_with_the_bundled_definition(
    receiver: Upstream, integration: str, code: str
) -> None:
    spec = bundled_specs()[integration]
    trigger = spec.triggers[code]
    assert isinstance(trigger, WebhookTriggerSpec)
    assert integration in BUILDERS, f"no provider double signs {integration}'s deliveries"
    double = ProviderDouble(integration)
    try:
        secret = new_delivery_secret()
        url = f"{receiver.url}/webhooks/tok123?src=test"
        event = trigger.events[0] if trigger.events else ""
        delivery = double.deliver_to(url, secret, event, _sample(integration, trigger, secret))
    finally:
        double.close()
    (seen,) = receiver.seen
    assert seen.body == delivery.body
    _check(spec, trigger, seen, url, secret, delivery.delivery_id)


def test_slack_url_verification_is_signed_and_carries_the_challenge(receiver: Upstream) -> None:
    spec = bundled_specs()["slack"]
    assert spec.webhooks is not None and spec.webhooks.challenge is not None
    double = ProviderDouble("slack")
    try:
        url = f"{receiver.url}/webhooks/tok123"
        double.deliver_to(url, "signing-secret", "url_verification", {"challenge": "3eZbrw1aBm2rZgRNFdxV"})
    finally:
        double.close()
    (seen,) = receiver.seen
    request = SignedRequest(body=seen.body, headers=seen.headers, url=url)
    assert verify_signature(spec.webhooks.verify, request, secret="signing-secret").ok
    document = json.loads(seen.body)
    _matches(document, spec.webhooks.challenge.when, {})
    assert _pointer(document, spec.webhooks.challenge.pointer) == "3eZbrw1aBm2rZgRNFdxV"


def test_a_stale_slack_delivery_is_refused() -> None:
    spec = bundled_specs()["slack"]
    assert spec.webhooks is not None
    double = ProviderDouble("slack")
    try:
        delivery = double.build("app_mention", SAMPLES["slack"], url="http://x", secret="s", now=1_700_000_000)
    finally:
        double.close()
    request = SignedRequest(body=delivery.body, headers=delivery.headers)
    assert verify_signature(spec.webhooks.verify, request, secret="s", now=1_700_000_000).ok
    refused = verify_signature(spec.webhooks.verify, request, secret="s", now=1_700_000_000 + 3600)
    assert refused.refusal is Refusal.STALE_TIMESTAMP


# --- subscribing through the bundled actions, against the doubles' registration APIs ----------

SUBSCRIBE_CASES = [
    ("github", "GITHUB_ISSUE_OPENED", AuthenticationSchema.BEARER_TOKEN, {"token": "ghp_test"}, ""),
    ("github", "GITHUB_PUSH", AuthenticationSchema.BEARER_TOKEN, {"token": "ghp_test"}, ""),
    ("stripe", "STRIPE_PAYMENT_INTENT_SUCCEEDED", AuthenticationSchema.API_KEY, {"api_key": "sk_test_1"}, "/v1"),
    ("gitlab", "GITLAB_ISSUE_EVENT", AuthenticationSchema.BEARER_TOKEN, {"token": "glpat-1"}, ""),
    ("typeform", "TYPEFORM_FORM_RESPONSE", AuthenticationSchema.BEARER_TOKEN, {"token": "tfp_1"}, ""),
    (
        "shopify",
        "SHOPIFY_ORDER_CREATED",
        AuthenticationSchema.API_KEY,
        {"access_token": "shpat_1", "shop": "my-store"},
        "",
    ),
    (
        "twilio",
        "TWILIO_SMS_RECEIVED",
        AuthenticationSchema.BASIC,
        {"auth_token": "twilio-token", "account_sid": "AC" + "1" * 32},
        "",
    ),
]


@pytest.mark.parametrize(
    ("integration", "code", "scheme", "data", "suffix"), SUBSCRIBE_CASES, ids=[c[1] for c in SUBSCRIBE_CASES]
)
def test_subscribe_and_unsubscribe_through_the_bundled_actions(
    backend: EmbeddedBackend,
    receiver: Upstream,
    integration: str,
    code: str,
    scheme: AuthenticationSchema,
    data: dict[str, str],
    suffix: str,
) -> None:
    spec = bundled_specs()[integration]
    trigger = spec.triggers[code]
    assert isinstance(trigger, WebhookTriggerSpec) and trigger.subscribe and trigger.unsubscribe
    double = ProviderDouble(integration)
    try:
        connected = IntegrationFactory.get(integration).connect(scheme, data={**data, "base_url": double.url + suffix})
        tool = ModelFactory.get(connected.data["id"])
        # The provider signs with the secret plughub generated, or one it chose (Stripe); Shopify
        # signs with the app's client secret and Twilio with the account's auth token.
        generated = new_delivery_secret()
        values = _values(generated)
        url = f"{receiver.url}/webhooks/tok123"
        values["subscription"]["webhook_url"] = url
        answer = tool.run(trigger.subscribe.action, _render_value(trigger.subscribe.inputs, values))
        assert answer.status.value == "SUCCESS", answer.error_message
        (hook,) = double.hooks.values()
        assert hook.url == url
        if trigger.subscribe.webhook_secret:
            secret = _pointer(answer.data, trigger.subscribe.webhook_secret)
            assert secret == hook.secret and secret != generated
        elif integration in ("github", "gitlab", "typeform"):
            secret = generated
            assert hook.secret == generated
        else:
            hook.secret = secret = data.get("auth_token", generated)
        event = trigger.events[0] if trigger.events else ""
        (delivery,) = double.deliver(event, _sample(integration, trigger, secret))
        (seen,) = receiver.seen
        assert seen.body == delivery.body
        values = _values(secret)
        _check(spec, trigger, seen, url, secret, delivery.delivery_id)
        provider_id = _pointer(answer.data, trigger.subscribe.provider_id) if trigger.subscribe.provider_id else ""
        values["subscription"].update(webhook_url=url, provider_id=provider_id)
        gone = tool.run(trigger.unsubscribe.action, _render_value(trigger.unsubscribe.inputs, values))
        assert gone.status.value == "SUCCESS", gone.error_message
        assert double.hooks == {}
        calls = [(c.method, re.sub(r"\d{3,}|we_\w+|PN0+", "N", c.path)) for c in double.calls]
        assert [method for method, _path in calls] == [
            "PUT" if integration == "typeform" else "POST",
            "POST" if integration == "twilio" else "DELETE",
        ], calls
    finally:
        double.close()
