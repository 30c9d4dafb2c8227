"""Webhook deliveries built and signed the way each provider does, from its public documentation.

Written apart from plughub's own verification code on purpose (plain hmac/hashlib here), so that a
test that checks one with the other compares two readings of the provider's documentation.

| provider  | signature                                                                   |
|-----------|-----------------------------------------------------------------------------|
| github    | X-Hub-Signature-256: sha256=<hex HMAC-SHA256(body)> (and the legacy sha1)   |
| stripe    | Stripe-Signature: t=<ts>,v1=<hex HMAC-SHA256("ts.body")>                     |
| slack     | X-Slack-Signature: v0=<hex HMAC-SHA256("v0:ts:body")>, X-Slack-Request-Timestamp |
| shopify   | X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256(body)>                            |
| twilio    | X-Twilio-Signature: <base64 HMAC-SHA1(url + sorted name+value pairs)>        |
| gitlab    | X-Gitlab-Token: <the hook's secret token>                                    |
| intercom  | X-Hub-Signature: sha1=<hex HMAC-SHA1(body)>                                  |
| typeform  | Typeform-Signature: sha256=<base64 HMAC-SHA256(body)>                        |
| clerk     | svix-id, svix-timestamp, svix-signature: v1,<base64 HMAC-SHA256("id.ts.body")> (whsec_ key) |
| linear    | Linear-Signature: <hex HMAC-SHA256(body)>                                    |
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode


@dataclass
class Delivery:
    """What a provider sends: headers and the exact body bytes."""

    headers: dict[str, str]
    body: bytes
    event_type: str = ""
    delivery_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _json(payload: Any) -> bytes:
    # Providers send compact JSON; the exact bytes are what is signed.
    return json.dumps(payload, separators=(",", ":")).encode()


def _hex(key: bytes, data: bytes, digest: Any = hashlib.sha256) -> str:
    return hmac.new(key, data, digest).hexdigest()


def _b64(key: bytes, data: bytes, digest: Any = hashlib.sha256) -> str:
    return base64.b64encode(hmac.new(key, data, digest).digest()).decode()


def github(event: str, payload: dict[str, Any], secret: str, url: str, now: int) -> Delivery:
    body = _json(payload)
    delivery = str(uuid.uuid4())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/044aadd",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-GitHub-Hook-ID": "292430182",
        "X-GitHub-Hook-Installation-Target-Type": "repository",
        "X-Hub-Signature": "sha1=" + _hex(secret.encode(), body, hashlib.sha1),
        "X-Hub-Signature-256": "sha256=" + _hex(secret.encode(), body),
    }
    return Delivery(headers, body, event, delivery)


def stripe(event: str, payload: dict[str, Any], secret: str, url: str, now: int) -> Delivery:
    event_id = "evt_" + uuid.uuid4().hex[:24]
    body = _json(
        {
            "id": event_id,
            "object": "event",
            "api_version": "2024-06-20",
            "created": now,
            "data": {"object": payload},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event,
        }
    )
    signature = _hex(secret.encode(), f"{now}.".encode() + body)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        "Stripe-Signature": f"t={now},v1={signature}",
    }
    return Delivery(headers, body, event, event_id)


def slack(event: str, payload: dict[str, Any], secret: str, url: str, now: int) -> Delivery:
    event_id = "Ev" + uuid.uuid4().hex[:10].upper()
    if event == "url_verification":
        document: dict[str, Any] = {"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "type": "url_verification", **payload}
        event_id = ""
    else:
        document = {
            "token": "XXYYZZ",
            "team_id": "T0001",
            "api_app_id": "A0001",
            "event": {"type": event, "event_ts": f"{now}.000200", **payload},
            "type": "event_callback",
            "event_id": event_id,
            "event_time": now,
            "authorizations": [{"team_id": "T0001", "user_id": "U0001", "is_bot": True}],
        }
    body = _json(document)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        "X-Slack-Request-Timestamp": str(now),
        "X-Slack-Signature": "v0=" + _hex(secret.encode(), f"v0:{now}:".encode() + body),
    }
    return Delivery(headers, body, event, event_id)


def shopify(event: str, payload: dict[str, Any], secret: str, url: str, now: int) -> Delivery:
    body = _json(payload)
    webhook_id = str(uuid.uuid4())
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": event,
        "X-Shopify-Hmac-Sha256": _b64(secret.encode(), body),
        "X-Shopify-Shop-Domain": "my-store.myshopify.com",
        "X-Shopify-API-Version": "2026-07",
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-Event-Id": str(uuid.uuid4()),
        "X-Shopify-Triggered-At": time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(now)),
    }
    return Delivery(headers, body, event, webhook_id)


def twilio(event: str, payload: dict[str, Any], secret: str, url: str, now: int) -> Delivery:
    sid = "SM" + uuid.uuid4().hex
    params = {
        "ToCountry": "US",
        "ToState": "CA",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "SAN FRANCISCO",
        "FromZip": "94105",
        "SmsSid": sid,
        "FromState": "CA",
        "SmsStatus": "received",
        "FromCity": "SAN FRANCISCO",
        "Body": "Hello from a phone",
        "FromCountry": "US",
        "To": "+15005550006",
        "MessagingServiceSid": "",
        "ToZip": "94105",
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "From": "+14155550100",
        "ApiVersion": "2010-04-01",
        **payload,
    }
    signed = url + "".join(name + params[name] for name in sorted(params))
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "User-Agent": "TwilioProxy/1.1",
        "I-Twilio-Idempotency-Token": str(uuid.uuid4()),
        "X-Twilio-Signature": _b64(secret.encode(), signed.encode(), hashlib.sha1),
    }
    return Delivery(headers, urlencode(params).encode(), "", sid)


def gitlab(event: str, payload: dict[str, Any], secret: str, url: str, now: int) -> Delivery:
    kinds = {"Issue Hook": "issue", "Merge Request Hook": "merge_request", "Push Hook": "push"}
    body = _json({"object_kind": kinds.get(event, "note"), "event_type": kinds.get(event, "note"), **payload})
    key = str(uuid.uuid4())  # the same on GitLab's retries of this delivery
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitLab/18.2.0",
        "X-Gitlab-Event": event,
        "X-Gitlab-Token": secret,
        "X-Gitlab-Instance": "https://gitlab.com",
        "X-Gitlab-Webhook-UUID": str(uuid.uuid4()),
        "X-Gitlab-Event-UUID": str(uuid.uuid4()),
        "Idempotency-Key": key,
    }
    return Delivery(headers, body, event, key)


def intercom(event: str, payload: dict[str, Any], secret: str, url: str, now: int) -> Delivery:
    notification = "notif_" + str(uuid.uuid4())
    body = _json(
        {
            "type": "notification_event",
            "app_id": "abc123",
            "data": {"type": "notification_event_data", "item": payload},
            "links": {},
            "id": notification,
            "topic": event,
            "delivery_status": "pending",
            "delivery_attempts": 1,
            "delivered_at": 0,
            "first_sent_at": now,
            "created_at": now,
        }
    )
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Intercom-Webhooks-Bot",
        "X-Hub-Signature": "sha1=" + _hex(secret.encode(), body, hashlib.sha1),
    }
    return Delivery(headers, body, event, notification)


def typeform(event: str, payload: dict[str, Any], secret: str, url: str, now: int) -> Delivery:
    event_id = uuid.uuid4().hex.upper()[:26]
    body = _json({"event_id": event_id, "event_type": event, "form_response": payload})
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Typeform Webhooks",
        "Typeform-Signature": "sha256=" + _b64(secret.encode(), body),
    }
    return Delivery(headers, body, event, event_id)


def clerk(event: str, payload: dict[str, Any], secret: str, url: str, now: int) -> Delivery:
    message_id = "msg_" + uuid.uuid4().hex[:27]
    body = _json({"data": payload, "object": "event", "type": event, "timestamp": now * 1000})
    key = base64.b64decode(secret.removeprefix("whsec_"))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Svix-Webhooks/1.66.0",
        "svix-id": message_id,
        "svix-timestamp": str(now),
        "svix-signature": "v1," + _b64(key, f"{message_id}.{now}.".encode() + body),
    }
    return Delivery(headers, body, event, message_id)


def linear(event: str, payload: dict[str, Any], secret: str, url: str, now: int) -> Delivery:
    delivery = str(uuid.uuid4())
    body = _json(
        {
            "action": payload.pop("action", "create"),
            "type": event,
            "data": payload,
            "url": "https://linear.app/acme/issue/ENG-1",
            "createdAt": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(now)),
            "organizationId": str(uuid.uuid4()),
            "webhookTimestamp": now * 1000,
            "webhookId": str(uuid.uuid4()),
        }
    )
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Linear-Webhook",
        "Linear-Delivery": delivery,
        "Linear-Event": event,
        "Linear-Signature": _hex(secret.encode(), body),
    }
    return Delivery(headers, body, event, delivery)


Builder = Callable[[str, dict[str, Any], str, str, int], Delivery]
BUILDERS: dict[str, Builder] = {
    "github": github,
    "stripe": stripe,
    "slack": slack,
    "shopify": shopify,
    "twilio": twilio,
    "gitlab": gitlab,
    "intercom": intercom,
    "typeform": typeform,
    "clerk": clerk,
    "linear": linear,
}
