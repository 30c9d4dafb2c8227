"""Events (DESIGN.md §10): webhook signatures checked on the way in, deliveries signed on the way out."""

from __future__ import annotations

from plughub.engine.events.signatures import Refusal, SignedRequest, Verification, verify_signature
from plughub.engine.events.signing import new_delivery_secret, new_webhook_secret, sign_delivery

__all__ = [
    "Refusal",
    "SignedRequest",
    "Verification",
    "new_delivery_secret",
    "new_webhook_secret",
    "sign_delivery",
    "verify_signature",
]
