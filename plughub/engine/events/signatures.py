"""Check a provider's webhook signature (the definition's `webhooks.verify`): pure, no I/O, no engine.

Methods (DESIGN.md §10):

- `hmac-sha256` / `hmac-sha1`: an HMAC of the raw body in one header, hex or base64, after an
  optional prefix (GitHub `sha256=`, Shopify, Intercom, Typeform, WooCommerce...).
- `token`: the header holds the shared secret itself (GitLab's `X-Gitlab-Token`).
- `stripe`: `Stripe-Signature: t=<ts>,v1=<hex>[,v1=...]`, HMAC-SHA256 of `t.body` (also Calendly's).
- `slack`: `X-Slack-Signature: v0=<hex>` of `v0:<ts>:body`, the time in `X-Slack-Request-Timestamp`
  (also Zoom's, with its own header names).
- `twilio`: `X-Twilio-Signature`, base64 HMAC-SHA1 of the full URL followed by the POST form
  parameters sorted by name (each name then its value); a JSON body is covered by the URL's
  `bodySHA256` parameter instead.
- `standard-webhooks`: `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64> ...`
  with a `whsec_` secret (also Svix's `svix-*` headers).
- `none`: nothing to check.

Every comparison is `hmac.compare_digest` on bytes. A refusal says which header and why, never the
secret nor the expected signature.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qs, parse_qsl, urlsplit, urlunsplit

from plughub.engine.catalog.triggers import VerifySpec
from plughub.engine.events.signing import decode_delivery_secret, standard_signature

__all__ = ["Refusal", "SignedRequest", "Verification", "verify_signature"]


class Refusal(str, enum.Enum):
    """Why a delivery was refused."""

    MISSING_HEADER = "missing_header"
    MALFORMED_HEADER = "malformed_header"
    BAD_SIGNATURE = "bad_signature"
    STALE_TIMESTAMP = "stale_timestamp"
    NO_SECRET = "no_secret"


@dataclass(frozen=True)
class Verification:
    """The outcome of a check: `ok`, or the `refusal` and a message that names the header at fault.

    Truthy when the check passed.
    """

    ok: bool
    refusal: Refusal | None = None
    message: str = ""

    def __bool__(self) -> bool:
        return self.ok


_PASSED = Verification(ok=True)


def _refused(refusal: Refusal, message: str) -> Verification:
    return Verification(ok=False, refusal=refusal, message=message)


@dataclass(frozen=True)
class SignedRequest:
    """What arrived: the exact body bytes, the headers, and the full URL the provider posted to.

    Header names are matched without regard to case (`headers` may be any mapping, e.g. a dict or
    Starlette's `Headers`).
    """

    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    url: str = ""

    def header(self, name: str) -> str | None:
        """Find a header's value, whatever the case of its name.

        Args:
            name: The header name.

        Returns:
            The value, or None when the header is absent.
        """
        value = self.headers.get(name)
        if value is not None:
            return value
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)


def verify_signature(
    spec: VerifySpec, request: SignedRequest, *, secret: str | None, now: float | None = None
) -> Verification:
    """Check a delivery against the definition's `webhooks.verify`.

    Args:
        spec: The verification rule.
        request: What arrived.
        secret: The rendered `verify.secret` (None when there is none to check with).
        now: The current time in seconds (default: the clock); for the timestamped methods.

    Returns:
        The outcome; `ok` only when the signature is good (and recent, where the method has a time).
    """
    if spec.method == "none":
        return _PASSED
    if not secret:
        return _refused(Refusal.NO_SECRET, "no secret to check the signature with; the subscription has none")
    check = _CHECKS[spec.method]
    return check(spec, request, secret.encode("utf-8"), time.time() if now is None else now)


def _header(request: SignedRequest, name: str) -> str | Verification:
    value = request.header(name)
    if value is None or not value.strip():
        return _refused(Refusal.MISSING_HEADER, f"the {name} header is missing")
    return value.strip()


def _decode(text: str, encoding: str) -> bytes | None:
    try:
        if encoding == "hex":
            return bytes.fromhex(text)
        return base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error):
        return None


def _any_equal(expected: bytes, candidates: Iterable[bytes]) -> bool:
    # Compare with every candidate (no early exit), so timing says nothing about which matched.
    matched = False
    for candidate in candidates:
        matched |= hmac.compare_digest(expected, candidate)
    return matched


def _mismatch(name: str) -> Verification:
    return _refused(Refusal.BAD_SIGNATURE, f"the {name} signature does not match the request")


def _timestamp(name: str, value: str, now: float, tolerance: int) -> Verification:
    """Accept a signed time within `tolerance` of now, either way (the signature is checked first)."""
    try:
        stamp = int(value)
    except ValueError:
        return _refused(Refusal.MALFORMED_HEADER, f"the {name} timestamp is not a whole number of seconds")
    age = now - stamp
    if abs(age) > tolerance:
        when = "old" if age > 0 else "in the future"
        return _refused(
            Refusal.STALE_TIMESTAMP,
            f"the {name} timestamp is {abs(int(age))} s {when}; at most {tolerance} s is accepted (a replay?)",
        )
    return _PASSED


def _check_hmac(spec: VerifySpec, request: SignedRequest, secret: bytes, now: float) -> Verification:
    name = spec.signature_header
    value = _header(request, name)
    if isinstance(value, Verification):
        return value
    if spec.prefix and not value.startswith(spec.prefix):
        return _refused(Refusal.MALFORMED_HEADER, f"the {name} header does not start with {spec.prefix!r}")
    given = _decode(value[len(spec.prefix) :], spec.encoding or "hex")
    expected = hmac.new(secret, request.body, _HMAC_DIGESTS[spec.method]).digest()
    if given is None or not hmac.compare_digest(expected, given):
        return _mismatch(name)
    return _PASSED


def _check_token(spec: VerifySpec, request: SignedRequest, secret: bytes, now: float) -> Verification:
    name = spec.signature_header
    value = _header(request, name)
    if isinstance(value, Verification):
        return value
    if not hmac.compare_digest(secret, value.encode("utf-8")):
        return _refused(Refusal.BAD_SIGNATURE, f"the {name} token does not match")
    return _PASSED


def _check_stripe(spec: VerifySpec, request: SignedRequest, secret: bytes, now: float) -> Verification:
    name = spec.signature_header
    value = _header(request, name)
    if isinstance(value, Verification):
        return value
    pairs = [part.strip().partition("=") for part in value.split(",")]
    stamps = [v for k, _sep, v in pairs if k == "t"]
    signatures = [_decode(v, "hex") for k, _sep, v in pairs if k == "v1"]
    if len(stamps) != 1 or not signatures:
        return _refused(Refusal.MALFORMED_HEADER, f"the {name} header needs t= and at least one v1=")
    expected = hmac.new(secret, stamps[0].encode() + b"." + request.body, hashlib.sha256).digest()
    if not _any_equal(expected, (s for s in signatures if s is not None)):
        return _mismatch(name)
    return _timestamp(name, stamps[0], now, spec.effective_tolerance)


def _check_slack(spec: VerifySpec, request: SignedRequest, secret: bytes, now: float) -> Verification:
    name, stamp_name = spec.signature_header, spec.effective_timestamp_header
    value = _header(request, name)
    if isinstance(value, Verification):
        return value
    stamp = _header(request, stamp_name)
    if isinstance(stamp, Verification):
        return stamp
    version, sep, signature = value.partition("=")
    given = _decode(signature, "hex") if sep and version == "v0" else None
    if given is None:
        return _refused(Refusal.MALFORMED_HEADER, f"the {name} header is not v0=<hex>")
    expected = hmac.new(secret, b"v0:" + stamp.encode() + b":" + request.body, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, given):
        return _mismatch(name)
    return _timestamp(stamp_name, stamp, now, spec.effective_tolerance)


def _check_standard(spec: VerifySpec, request: SignedRequest, secret: bytes, now: float) -> Verification:
    name = spec.signature_header
    values = [_header(request, h) for h in (spec.effective_id_header, spec.effective_timestamp_header, name)]
    for value in values:
        if isinstance(value, Verification):
            return value
    message_id, stamp, header = (str(v) for v in values)
    try:
        key = decode_delivery_secret(secret.decode("utf-8"))
    except ValueError:
        return _refused(Refusal.NO_SECRET, "the secret is not a Standard Webhooks secret (whsec_ then base64)")
    try:
        seconds = int(stamp)
    except ValueError:
        name_ts = spec.effective_timestamp_header
        return _refused(Refusal.MALFORMED_HEADER, f"the {name_ts} timestamp is not a whole number of seconds")
    # Space-separated `version,signature` pairs; only v1 (symmetric) is checked, as the spec says.
    given = [
        _decode(sig, "base64") for version, _c, sig in (p.partition(",") for p in header.split()) if version == "v1"
    ]
    expected = standard_signature(key, message_id, seconds, request.body)
    if not _any_equal(expected, (g for g in given if g is not None)):
        return _mismatch(name)
    return _timestamp(spec.effective_timestamp_header, stamp, now, spec.effective_tolerance)


def _check_twilio(spec: VerifySpec, request: SignedRequest, secret: bytes, now: float) -> Verification:
    name = spec.signature_header
    value = _header(request, name)
    if isinstance(value, Verification):
        return value
    given = _decode(value, "base64")
    if given is None:
        return _refused(Refusal.MALFORMED_HEADER, f"the {name} header is not base64")
    query = parse_qs(urlsplit(request.url).query)
    params: dict[str, list[str]] = {}
    if "bodySHA256" in query:
        # A JSON (non-form) body: the URL carries the body's hash and the signature covers the URL.
        body_hash = hashlib.sha256(request.body).hexdigest().encode()
        if not hmac.compare_digest(body_hash, query["bodySHA256"][0].encode()):
            return _mismatch(name)
    else:
        for key, item in parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True):
            params.setdefault(key, []).append(item)
    # Twilio signs the URL as it called it; its libraries try it with and without the default port.
    candidates = [_twilio_digest(secret, url, params) for url in _url_variants(request.url)]
    if not _any_equal(given, candidates):
        return _mismatch(name)
    return _PASSED


def _twilio_digest(secret: bytes, url: str, params: Mapping[str, list[str]]) -> bytes:
    text = url + "".join(key + item for key in sorted(params) for item in sorted(set(params[key])))
    return hmac.new(secret, text.encode("utf-8"), hashlib.sha1).digest()


def _url_variants(url: str) -> list[str]:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = f"{userinfo}@" if userinfo else ""
    default = {"https": 443, "http": 80}.get(parts.scheme)
    port = parts.port or default
    bare = urlunsplit((parts.scheme, prefix + host, parts.path, parts.query, parts.fragment))
    with_port = f"{prefix}{host}:{port}" if port else prefix + host
    explicit = urlunsplit((parts.scheme, with_port, parts.path, parts.query, parts.fragment))
    return list(dict.fromkeys([url, bare, explicit]))


_HMAC_DIGESTS = {"hmac-sha256": hashlib.sha256, "hmac-sha1": hashlib.sha1}
_CHECKS: dict[str, Callable[[VerifySpec, SignedRequest, bytes, float], Verification]] = {
    "hmac-sha256": _check_hmac,
    "hmac-sha1": _check_hmac,
    "token": _check_token,
    "stripe": _check_stripe,
    "slack": _check_slack,
    "standard-webhooks": _check_standard,
    "twilio": _check_twilio,
}
