"""Webhook signature checks: the vendors' published examples, tampering, secrets, time and headers.

The published vectors are checked against the values the vendors print, never against values this
module computed itself: GitHub's "Validating webhook deliveries" test values, Slack's worked
example in "Verifying requests from Slack", Twilio's example in its webhook security page, and the
Standard Webhooks specification's test vector. Stripe publishes no vector: its scheme is checked
against an HMAC computed here from the documented recipe (`t.body`, hex HMAC-SHA256).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timezone
from typing import Any

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from plughub.engine.catalog.triggers import VerifySpec
from plughub.engine.events import Refusal, SignedRequest, sign_delivery, verify_signature
from plughub.engine.events.signing import decode_delivery_secret, new_delivery_secret, new_webhook_secret

# docs.github.com, "Validating webhook deliveries" > "Testing the webhook payload validation".
GITHUB_SECRET = "It's a Secret to Everybody"
GITHUB_BODY = b"Hello, World!"
GITHUB_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

# api.slack.com/authentication/verifying-requests-from-slack, the worked example.
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_TIMESTAMP = "1531420618"
SLACK_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
SLACK_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"

# twilio.com/docs/usage/webhooks/webhooks-security, the example request (auth token 12345).
TWILIO_TOKEN = "12345"
TWILIO_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
TWILIO_BODY = b"CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&To=%2B18005551212"
TWILIO_SIGNATURE = "RSOYDt4T1cUTdK1PDd93/VVr8B8="

# The Standard Webhooks specification's test vector (standard-webhooks repository, spec and libraries).
SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SW_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SW_TIMESTAMP = 1614265330
SW_BODY = b'{"test": 2432232314}'
SW_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

GITHUB = VerifySpec(method="hmac-sha256", header="X-Hub-Signature-256", prefix="sha256=", encoding="hex", secret="s")
SLACK = VerifySpec(method="slack", secret="s")
TWILIO = VerifySpec(method="twilio", secret="s")
STRIPE = VerifySpec(method="stripe", secret="s")
STANDARD = VerifySpec(method="standard-webhooks", secret="s")


def _check(spec: VerifySpec, secret: str | None, body: bytes, headers: dict[str, str], **kw: Any) -> Any:
    return verify_signature(spec, SignedRequest(body=body, headers=headers, url=kw.pop("url", "")), secret=secret, **kw)


def _stripe_header(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


# --- the published examples -------------------------------------------------------------------


def test_github_published_example() -> None:
    result = _check(GITHUB, GITHUB_SECRET, GITHUB_BODY, {"X-Hub-Signature-256": GITHUB_SIGNATURE})
    assert result.ok and result.refusal is None and bool(result)


def test_slack_published_example() -> None:
    headers = {"X-Slack-Signature": SLACK_SIGNATURE, "X-Slack-Request-Timestamp": SLACK_TIMESTAMP}
    assert _check(SLACK, SLACK_SECRET, SLACK_BODY, headers, now=int(SLACK_TIMESTAMP) + 10).ok


def test_twilio_published_example() -> None:
    result = _check(TWILIO, TWILIO_TOKEN, TWILIO_BODY, {"X-Twilio-Signature": TWILIO_SIGNATURE}, url=TWILIO_URL)
    assert result.ok


def test_twilio_example_as_printed_today() -> None:
    # Twilio's page has printed the same example with other phone numbers; that one checks too.
    body = TWILIO_BODY.replace(b"%2B14158675309", b"%2B12349013030")
    headers = {"X-Twilio-Signature": "0/KCTR6DLpKmkAf8muzZqo1nDgQ="}
    assert _check(TWILIO, TWILIO_TOKEN, body, headers, url=TWILIO_URL).ok


def test_standard_webhooks_specification_vector() -> None:
    headers = {"webhook-id": SW_ID, "webhook-timestamp": str(SW_TIMESTAMP), "webhook-signature": SW_SIGNATURE}
    assert _check(STANDARD, SW_SECRET, SW_BODY, headers, now=SW_TIMESTAMP).ok
    assert sign_delivery(SW_ID, SW_TIMESTAMP, SW_BODY, SW_SECRET)["webhook-signature"] == SW_SIGNATURE


def test_stripe_documented_scheme() -> None:
    secret = "whsec_test_secret"  # Stripe's endpoint secrets are used as text, not decoded
    header = _stripe_header(secret, 1_700_000_000, b'{"id": "evt_1"}')
    assert _check(STRIPE, secret, b'{"id": "evt_1"}', {"Stripe-Signature": header}, now=1_700_000_100).ok


# --- the Standard Webhooks reference library, both ways ---------------------------------------


def test_our_delivery_signature_verifies_with_the_reference_library() -> None:
    secret = new_delivery_secret()
    now = int(datetime.now(timezone.utc).timestamp())
    body = b'{"id": "evt_1", "type": "issues", "data": {"n": 1}}'
    headers = sign_delivery("evt_1", now, body, secret)
    assert Webhook(secret).verify(body, headers) == {"id": "evt_1", "type": "issues", "data": {"n": 1}}
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body + b" ", headers)


def test_the_reference_library_signature_verifies_with_ours() -> None:
    secret = new_delivery_secret()
    stamp = datetime.now(timezone.utc)
    body = b'{"hello": "world"}'
    signature = Webhook(secret).sign("msg_42", stamp, body.decode())
    headers = {"webhook-id": "msg_42", "webhook-timestamp": str(int(stamp.timestamp())), "webhook-signature": signature}
    assert _check(STANDARD, secret, body, headers).ok
    assert _check(STANDARD, secret, body + b"!", headers).refusal is Refusal.BAD_SIGNATURE


def test_several_standard_signatures_any_one_matches() -> None:
    headers = sign_delivery(SW_ID, SW_TIMESTAMP, SW_BODY, SW_SECRET)
    other = sign_delivery(SW_ID, SW_TIMESTAMP, SW_BODY, new_delivery_secret())["webhook-signature"]
    headers["webhook-signature"] = f"{other} v1a,bm90LWNoZWNrZWQ= {headers['webhook-signature']}"
    assert _check(STANDARD, SW_SECRET, SW_BODY, headers, now=SW_TIMESTAMP).ok
    headers["webhook-signature"] = other
    assert _check(STANDARD, SW_SECRET, SW_BODY, headers, now=SW_TIMESTAMP).refusal is Refusal.BAD_SIGNATURE


def test_generated_secrets() -> None:
    assert len(decode_delivery_secret(new_delivery_secret())) == 32
    assert new_delivery_secret() != new_delivery_secret()
    assert len(new_webhook_secret()) == 64 and new_webhook_secret() != new_webhook_secret()
    with pytest.raises(ValueError, match="not a Standard Webhooks secret") as info:
        decode_delivery_secret("whsec_not base64!")
    assert "not base64!" not in str(info.value)


# --- tampering, wrong secrets -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "secret", "body", "headers", "kw"),
    [
        (GITHUB, GITHUB_SECRET, GITHUB_BODY, {"X-Hub-Signature-256": GITHUB_SIGNATURE}, {}),
        (
            SLACK,
            SLACK_SECRET,
            SLACK_BODY,
            {"X-Slack-Signature": SLACK_SIGNATURE, "X-Slack-Request-Timestamp": SLACK_TIMESTAMP},
            {"now": int(SLACK_TIMESTAMP)},
        ),
        (TWILIO, TWILIO_TOKEN, TWILIO_BODY, {"X-Twilio-Signature": TWILIO_SIGNATURE}, {"url": TWILIO_URL}),
        (
            STANDARD,
            SW_SECRET,
            SW_BODY,
            {"webhook-id": SW_ID, "webhook-timestamp": str(SW_TIMESTAMP), "webhook-signature": SW_SIGNATURE},
            {"now": SW_TIMESTAMP},
        ),
        (
            STRIPE,
            "whsec_abc",
            b"{}",
            {"Stripe-Signature": _stripe_header("whsec_abc", 1_700_000_000, b"{}")},
            {"now": 1_700_000_000},
        ),
    ],
    ids=["github", "slack", "twilio", "standard-webhooks", "stripe"],
)
def test_tampered_body_and_wrong_secret_are_refused(
    spec: VerifySpec, secret: str, body: bytes, headers: dict[str, str], kw: dict[str, Any]
) -> None:
    assert _check(spec, secret, body, headers, **dict(kw)).ok
    tampered = body[:-1] + bytes([body[-1] ^ 1])
    refused = _check(spec, secret, tampered, headers, **dict(kw))
    assert not refused and refused.refusal is Refusal.BAD_SIGNATURE
    wrong = "whsec_" + base64.b64encode(b"another key, 24 bytes+!!").decode() if spec is STANDARD else secret + "x"
    refused = _check(spec, wrong, body, headers, **dict(kw))
    assert refused.refusal is Refusal.BAD_SIGNATURE
    assert secret not in refused.message and wrong not in refused.message


def test_twilio_url_is_signed_too() -> None:
    headers = {"X-Twilio-Signature": TWILIO_SIGNATURE}
    other_url = TWILIO_URL.replace("foo=1", "foo=2")
    assert _check(TWILIO, TWILIO_TOKEN, TWILIO_BODY, headers, url=other_url).refusal is Refusal.BAD_SIGNATURE


def test_twilio_signature_made_with_the_default_port() -> None:
    url = "https://example.com:443/sms"
    digest = hmac.new(b"tok", (url + "Bodyhi").encode(), hashlib.sha1).digest()
    headers = {"X-Twilio-Signature": base64.b64encode(digest).decode()}
    assert _check(TWILIO, "tok", b"Body=hi", headers, url="https://example.com/sms").ok


def test_twilio_json_body_is_covered_by_body_sha256() -> None:
    body = b'{"event": "x"}'
    url = "https://example.com/hook?bodySHA256=" + hashlib.sha256(body).hexdigest()
    digest = hmac.new(b"tok", url.encode(), hashlib.sha1).digest()
    headers = {"X-Twilio-Signature": base64.b64encode(digest).decode()}
    assert _check(TWILIO, "tok", body, headers, url=url).ok
    assert _check(TWILIO, "tok", b'{"event": "y"}', headers, url=url).refusal is Refusal.BAD_SIGNATURE


def test_hmac_sha1_and_base64() -> None:
    spec = VerifySpec(method="hmac-sha1", header="X-Hub-Signature", prefix="sha1=", secret="s")
    body = b'{"topic": "ping"}'
    good = "sha1=" + hmac.new(b"secret", body, hashlib.sha1).hexdigest()
    assert _check(spec, "secret", body, {"X-Hub-Signature": good}).ok
    assert _check(spec, "secret", body, {"X-Hub-Signature": good.upper().replace("SHA1=", "sha1=")}).ok
    shopify = VerifySpec(method="hmac-sha256", header="X-Shopify-Hmac-Sha256", encoding="base64", secret="s")
    good64 = base64.b64encode(hmac.new(b"secret", body, hashlib.sha256).digest()).decode()
    assert _check(shopify, "secret", body, {"x-shopify-hmac-sha256": good64}).ok
    refused = _check(shopify, "secret", body, {"X-Shopify-Hmac-Sha256": "not base64!"})
    assert refused.refusal is Refusal.BAD_SIGNATURE


def test_hmac_prefix_missing() -> None:
    digest = hmac.new(GITHUB_SECRET.encode(), GITHUB_BODY, hashlib.sha256).hexdigest()
    refused = _check(GITHUB, GITHUB_SECRET, GITHUB_BODY, {"X-Hub-Signature-256": digest})
    assert refused.refusal is Refusal.MALFORMED_HEADER and "sha256=" in refused.message


def test_token_method() -> None:
    spec = VerifySpec(method="token", header="X-Gitlab-Token", secret="s")
    assert _check(spec, "tok-1", b"{}", {"X-Gitlab-Token": "tok-1"}).ok
    refused = _check(spec, "tok-1", b"{}", {"X-Gitlab-Token": "tok-2"})
    assert refused.refusal is Refusal.BAD_SIGNATURE and "tok-1" not in refused.message


def test_none_checks_nothing() -> None:
    assert _check(VerifySpec(method="none"), None, b"anything", {}).ok


# --- time: stale, future, replay --------------------------------------------------------------


def test_slack_replay_of_an_old_timestamp_is_refused() -> None:
    headers = {"X-Slack-Signature": SLACK_SIGNATURE, "X-Slack-Request-Timestamp": SLACK_TIMESTAMP}
    refused = _check(SLACK, SLACK_SECRET, SLACK_BODY, headers, now=int(SLACK_TIMESTAMP) + 301)
    assert refused.refusal is Refusal.STALE_TIMESTAMP
    assert "X-Slack-Request-Timestamp" in refused.message and "301 s old" in refused.message
    assert _check(SLACK, SLACK_SECRET, SLACK_BODY, headers, now=int(SLACK_TIMESTAMP) + 300).ok
    # A real Slack delivery, checked against the clock, is years old.
    assert _check(SLACK, SLACK_SECRET, SLACK_BODY, headers).refusal is Refusal.STALE_TIMESTAMP


def test_future_timestamps_are_refused() -> None:
    headers = {"X-Slack-Signature": SLACK_SIGNATURE, "X-Slack-Request-Timestamp": SLACK_TIMESTAMP}
    refused = _check(SLACK, SLACK_SECRET, SLACK_BODY, headers, now=int(SLACK_TIMESTAMP) - 301)
    assert refused.refusal is Refusal.STALE_TIMESTAMP and "future" in refused.message
    stripe_headers = {"Stripe-Signature": _stripe_header("k", 2_000, b"{}")}
    assert _check(STRIPE, "k", b"{}", stripe_headers, now=1_000).refusal is Refusal.STALE_TIMESTAMP
    sw = sign_delivery("m", 5_000, b"{}", SW_SECRET)
    assert _check(STANDARD, SW_SECRET, b"{}", sw, now=4_000).refusal is Refusal.STALE_TIMESTAMP


def test_tolerance_is_configurable() -> None:
    strict = VerifySpec(method="stripe", secret="s", tolerance=10)
    header = {"Stripe-Signature": _stripe_header("k", 1_000, b"{}")}
    assert _check(strict, "k", b"{}", header, now=1_010).ok
    assert _check(strict, "k", b"{}", header, now=1_011).refusal is Refusal.STALE_TIMESTAMP
    assert _check(STRIPE, "k", b"{}", header, now=1_300).ok  # the default: 300 s
    assert _check(STRIPE, "k", b"{}", header, now=1_301).refusal is Refusal.STALE_TIMESTAMP


def test_stale_standard_webhook_is_refused() -> None:
    headers = {"webhook-id": SW_ID, "webhook-timestamp": str(SW_TIMESTAMP), "webhook-signature": SW_SIGNATURE}
    refused = _check(STANDARD, SW_SECRET, SW_BODY, headers, now=SW_TIMESTAMP + 301)
    assert refused.refusal is Refusal.STALE_TIMESTAMP and "webhook-timestamp" in refused.message


def test_a_signature_of_another_time_does_not_pass_as_now() -> None:
    # Moving the timestamp forward to pass the window breaks the signature.
    headers = {"X-Slack-Signature": SLACK_SIGNATURE, "X-Slack-Request-Timestamp": "1700000000"}
    assert _check(SLACK, SLACK_SECRET, SLACK_BODY, headers, now=1_700_000_000).refusal is Refusal.BAD_SIGNATURE


# --- several signatures, malformed and missing headers ----------------------------------------


def test_stripe_several_v1_signatures() -> None:
    good = _stripe_header("k", 1_000, b"{}").split(",")[1]
    header = f"t=1000,v1={'0' * 64},{good},v0=ignored"
    assert _check(STRIPE, "k", b"{}", {"Stripe-Signature": header}, now=1_000).ok
    header = f"t=1000,v1={'0' * 64},v1=zz"
    assert _check(STRIPE, "k", b"{}", {"Stripe-Signature": header}, now=1_000).refusal is Refusal.BAD_SIGNATURE


@pytest.mark.parametrize("header", ["v1=abc", "t=1000", "garbage", "t=1,t=2,v1=00"])
def test_stripe_malformed_header(header: str) -> None:
    refused = _check(STRIPE, "k", b"{}", {"Stripe-Signature": header}, now=1_000)
    assert refused.refusal is Refusal.MALFORMED_HEADER and "Stripe-Signature" in refused.message


def test_stripe_timestamp_not_a_number() -> None:
    digest = hmac.new(b"k", b"soon.{}", hashlib.sha256).hexdigest()
    refused = _check(STRIPE, "k", b"{}", {"Stripe-Signature": f"t=soon,v1={digest}"}, now=1_000)
    assert refused.refusal is Refusal.MALFORMED_HEADER


@pytest.mark.parametrize(
    ("spec", "headers", "missing"),
    [
        (GITHUB, {}, "X-Hub-Signature-256"),
        (GITHUB, {"X-Hub-Signature-256": "  "}, "X-Hub-Signature-256"),
        (SLACK, {"X-Slack-Request-Timestamp": "1"}, "X-Slack-Signature"),
        (SLACK, {"X-Slack-Signature": "v0=00"}, "X-Slack-Request-Timestamp"),
        (TWILIO, {}, "X-Twilio-Signature"),
        (STRIPE, {}, "Stripe-Signature"),
        (STANDARD, {"webhook-timestamp": "1", "webhook-signature": "v1,AA=="}, "webhook-id"),
        (STANDARD, {"webhook-id": "m", "webhook-signature": "v1,AA=="}, "webhook-timestamp"),
        (STANDARD, {"webhook-id": "m", "webhook-timestamp": "1"}, "webhook-signature"),
    ],
)
def test_missing_headers(spec: VerifySpec, headers: dict[str, str], missing: str) -> None:
    refused = _check(spec, SW_SECRET, b"{}", headers, now=1)
    assert refused.refusal is Refusal.MISSING_HEADER
    assert refused.message == f"the {missing} header is missing"


def test_slack_malformed_signature() -> None:
    headers = {"X-Slack-Signature": "v1=abcd", "X-Slack-Request-Timestamp": SLACK_TIMESTAMP}
    assert _check(SLACK, SLACK_SECRET, SLACK_BODY, headers).refusal is Refusal.MALFORMED_HEADER


def test_header_names_in_any_case() -> None:
    headers = {"x-slack-signature": SLACK_SIGNATURE, "X-SLACK-REQUEST-TIMESTAMP": SLACK_TIMESTAMP}
    assert _check(SLACK, SLACK_SECRET, SLACK_BODY, headers, now=int(SLACK_TIMESTAMP)).ok


def test_zoom_signs_like_slack_under_its_own_headers() -> None:
    spec = VerifySpec(method="slack", header="x-zm-signature", timestamp_header="x-zm-request-timestamp", secret="s")
    body = b'{"event": "meeting.started"}'
    signature = "v0=" + hmac.new(b"zoom", b"v0:1000:" + body, hashlib.sha256).hexdigest()
    headers = {"x-zm-signature": signature, "x-zm-request-timestamp": "1000"}
    assert _check(spec, "zoom", body, headers, now=1_000).ok


def test_no_secret_is_a_refusal_not_a_pass() -> None:
    for secret in (None, ""):
        refused = _check(GITHUB, secret, GITHUB_BODY, {"X-Hub-Signature-256": GITHUB_SIGNATURE})
        assert refused.refusal is Refusal.NO_SECRET


def test_a_bad_standard_webhooks_secret_is_named_without_its_value() -> None:
    headers = {"webhook-id": SW_ID, "webhook-timestamp": str(SW_TIMESTAMP), "webhook-signature": SW_SIGNATURE}
    refused = _check(STANDARD, "whsec_%%%secret%%%", SW_BODY, headers, now=SW_TIMESTAMP)
    assert refused.refusal is Refusal.NO_SECRET and "%%%secret%%%" not in refused.message


def test_comparisons_are_constant_time() -> None:
    # Every comparison of a secret, a digest or a signature goes through hmac.compare_digest.
    import ast
    import inspect

    from plughub.engine.events import signatures

    tree = ast.parse(inspect.getsource(signatures))
    assert sum(isinstance(n, ast.Attribute) and n.attr == "compare_digest" for n in ast.walk(tree)) >= 5
    sensitive = {"expected", "given", "secret", "digest", "candidate", "candidates", "body_hash", "signature"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and any(isinstance(op, (ast.Eq, ast.NotEq)) for op in node.ops):
            names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
            assert not names & sensitive, f"line {node.lineno}: {ast.unparse(node)} is not constant time"
