"""A subscription's sealed values (webhook token, secrets, secret config, provider id), and its webhook URL."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from plughub.config import Settings

__all__ = ["SubscriptionSecrets", "webhook_url"]


@dataclass(frozen=True)
class SubscriptionSecrets:
    """A subscription's sealed values, opened."""

    token: str
    webhook_secret: str | None
    secret: str
    config: dict[str, Any]
    provider_id: Any = None

    def __repr__(self) -> str:
        return "SubscriptionSecrets(***)"

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> SubscriptionSecrets:
        """Build from the opened record."""
        return cls(
            data["token"],
            data.get("webhook_secret"),
            data["secret"],
            dict(data.get("config") or {}),
            data.get("provider_id"),
        )


def webhook_url(settings: Settings, token: str) -> str:
    """Where the provider posts a subscription's webhooks: `{PLUGHUB_PUBLIC_URL}/webhooks/<token>`."""
    return f"{settings.base_url}/webhooks/{token}"
