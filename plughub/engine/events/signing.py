"""The signing side: secrets plughub generates, and Standard Webhooks signatures on its deliveries.

A delivery to a subscriber's `target_url` carries `webhook-id`, `webhook-timestamp` and
`webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, keyed with the subscription's
`whsec_...` secret (https://www.standardwebhooks.com/), so that any Standard Webhooks library
checks it. Pure functions: no I/O besides the system's random source.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

__all__ = [
    "DELIVERY_SECRET_PREFIX",
    "decode_delivery_secret",
    "new_delivery_secret",
    "new_webhook_secret",
    "sign_delivery",
    "standard_signature",
]

DELIVERY_SECRET_PREFIX = "whsec_"
# The Standard Webhooks spec asks for a key of 24 to 64 bytes; 32 is what its libraries generate.
_KEY_BYTES = 32


def new_delivery_secret() -> str:
    """Generate the secret that signs deliveries to a subscriber (`whsec_` + base64 of 32 bytes).

    Returns:
        The secret, in the form Standard Webhooks libraries take.
    """
    return DELIVERY_SECRET_PREFIX + base64.b64encode(secrets.token_bytes(_KEY_BYTES)).decode("ascii")


def new_webhook_secret() -> str:
    """Generate the secret a provider signs its webhooks with, when plughub chooses it.

    Returns:
        64 hex characters (256 bits): text every provider's secret field accepts.
    """
    return secrets.token_hex(_KEY_BYTES)


def decode_delivery_secret(secret: str) -> bytes:
    """Turn a `whsec_...` secret into the HMAC key it stands for.

    Args:
        secret: The secret, with or without its `whsec_` prefix.

    Returns:
        The key bytes.

    Raises:
        ValueError: The secret is not base64 (the message never repeats the secret).
    """
    encoded = secret.removeprefix(DELIVERY_SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the secret is not a Standard Webhooks secret (whsec_ followed by base64)") from None
    if not key:
        raise ValueError("the secret is empty; give a whsec_ secret with a key after the prefix")
    return key


def standard_signature(key: bytes, message_id: str, timestamp: int, body: bytes) -> bytes:
    """Compute the raw Standard Webhooks HMAC-SHA256 of `id.timestamp.body`.

    Args:
        key: The HMAC key (see `decode_delivery_secret`).
        message_id: The `webhook-id`.
        timestamp: The `webhook-timestamp`, in seconds since the epoch.
        body: The exact bytes sent.

    Returns:
        The 32-byte digest.
    """
    return hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()


def sign_delivery(message_id: str, timestamp: int, body: bytes, secret: str) -> dict[str, str]:
    """Sign a delivery per Standard Webhooks.

    Args:
        message_id: The event's id; the same on every attempt, so the receiver can drop repeats.
        timestamp: The attempt's time, in whole seconds since the epoch.
        body: The exact bytes that will be sent.
        secret: The subscription's `whsec_...` secret.

    Returns:
        The three headers to send: `webhook-id`, `webhook-timestamp`, `webhook-signature`.

    Raises:
        ValueError: The secret is not a Standard Webhooks secret.
    """
    digest = standard_signature(decode_delivery_secret(secret), message_id, timestamp, body)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": "v1," + base64.b64encode(digest).decode("ascii"),
    }
