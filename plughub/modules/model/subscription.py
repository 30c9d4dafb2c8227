"""`Subscription` and `Event`: a connection's trigger switched on, and what it received (DESIGN.md §10).

```python
tool = ModelFactory.get(connection_id)
tool.triggers                                   # what the connection can tell you about
sub = tool.subscribe("GITHUB_ISSUE_OPENED", config={"owner": "octo", "repo": "hello"},
                     target_url="https://app.example/hooks/plughub")
sub.webhook_url, sub.webhook_secret, sub.secret  # the secrets: in this answer only
for event in sub.events(wait=30):               # or pull instead of a target URL
    print(event.type, event.data)
sub.delete()
```
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from plughub.enums import FunctionType
from plughub.modules.model import Model
from plughub.schemas import DeliveryInfo, EventInfo, SubscriptionDeleted, SubscriptionInfo

if TYPE_CHECKING:
    from plughub.backends import Backend

__all__ = ["Event", "Subscription"]


@dataclass(frozen=True)
class Event:
    """One event, in arrival order: what the provider sent (or a poll found)."""

    id: str
    subscription_id: str
    connection_id: str
    trigger: str
    type: str
    data: Any = field(repr=False)
    received_at: datetime

    @classmethod
    def of(cls, info: EventInfo) -> Event:
        """Build from the backend's description."""
        return cls(
            info.id, info.subscription_id, info.connection_id, info.trigger, info.type, info.data, info.received_at
        )


class Subscription(Model):
    """A trigger switched on for a connection.

    Args:
        id: Its id.
        trigger: The trigger code.
        connection_id: The connection.
        status: `active`, or `failing` while a poll trigger's polls fail (see `last_error`).
        webhook_url: Where the provider posts (webhook triggers).
        webhook_secret: What the provider signs with (only in the object `subscribe` returns).
        secret: The `whsec_...` secret signing deliveries to `target_url` (idem).
        **additional_info: `target_url`, `config`, `type`, `last_error`, `provider_id`,
            `integration_id`, `created_at`; `backend` picks the backend.
    """

    def __init__(
        self,
        id: str,
        trigger: str,
        connection_id: str,
        status: str = "active",
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        secret: str | None = None,
        **additional_info: Any,
    ) -> None:
        self.trigger = trigger
        self.connection_id = connection_id
        self.status = status
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.secret = secret
        self.target_url: str | None = additional_info.get("target_url")
        self.config: dict[str, Any] = additional_info.get("config") or {}
        self.type: str = additional_info.get("type", "webhook")
        self.last_error: str | None = additional_info.get("last_error")
        self.provider_id: str | None = additional_info.get("provider_id")
        super().__init__(
            id=id, name=trigger, description="", function_type=FunctionType.SUBSCRIPTION, **additional_info
        )

    @classmethod
    def of(cls, info: SubscriptionInfo, backend: Backend | None = None) -> Subscription:
        """Build from the backend's description."""
        extra = info.model_dump(
            exclude={"id", "trigger", "connection_id", "status", "webhook_url", "webhook_secret", "secret"}
        )
        return cls(
            info.id,
            info.trigger,
            info.connection_id,
            info.status,
            info.webhook_url,
            info.webhook_secret,
            info.secret,
            backend=backend,
            **extra,
        )

    def __repr__(self) -> str:
        # A secret shows only whether it is set.
        webhook_secret = "***" if self.webhook_secret else None
        secret = "***" if self.secret else None
        return (
            f"Subscription(id={self.id!r}, trigger={self.trigger!r}, connection_id={self.connection_id!r}, "
            f"status={self.status!r}, webhook_url={self.webhook_url!r}, webhook_secret={webhook_secret}, "
            f"secret={secret})"
        )

    __str__ = __repr__

    def refresh(self) -> Subscription:
        """Read the subscription again (`status`, `last_error`); the secrets are kept as they were.

        Returns:
            This object.
        """
        info = self.backend.get_subscription(self.id)
        self.status, self.last_error = info.status, info.last_error
        self.provider_id = info.provider_id
        return self

    def events(self, after: str | Event | None = None, limit: int = 100, wait: float = 0) -> list[Event]:
        """Pull events in arrival order.

        Args:
            after: The last event already seen (an `Event` or its id); None from the first.
            limit: The most to return (1 to 1000).
            wait: Seconds to wait for one when there is none yet (at most 30).

        Returns:
            The events.

        Raises:
            EventNotFound: `after` is not one of this subscription's events.
            InvalidInput: `limit` or `wait` is out of range.
        """
        after_id = after.id if isinstance(after, Event) else after
        return [Event.of(e) for e in self.backend.list_events(self.id, after_id, limit, wait)]

    def poll_now(self) -> list[Event]:
        """Run a poll trigger now.

        Returns:
            The new events (none after the first poll, which records what exists).

        Raises:
            InvalidInput: A webhook trigger's subscription.
            ActionError: The poll failed (also shown by `refresh().last_error`).
        """
        return [Event.of(e) for e in self.backend.poll_subscription(self.id)]

    def deliveries(self, status: str | None = None, limit: int = 100) -> list[DeliveryInfo]:
        """The pushes to `target_url`, newest first.

        Args:
            status: Only `pending`, `delivered` or `failed` ones.
            limit: The most to return.

        Returns:
            The deliveries.
        """
        return self.backend.list_deliveries(self.id, status, limit)

    def redeliver(self, event: str | Event) -> DeliveryInfo:
        """Send an event to `target_url` again (a failed delivery, or any).

        Args:
            event: The event or its id.

        Returns:
            The delivery, pending.
        """
        return self.backend.redeliver(self.id, event.id if isinstance(event, Event) else event)

    def delete(self, wait: float = 30) -> SubscriptionDeleted:
        """Delete the subscription, removing its webhook at the provider when plughub registered it.

        The removal is a job (with retries); the subscription takes no events from now on, and
        this call waits up to `wait` seconds for the job. After its last failed attempt the
        subscription is deleted anyway, and the failure is reported in the result.

        Args:
            wait: Seconds to wait for the job (0 to 30; 0 returns `status="deleting"`).

        Returns:
            `status` (`deleted`, or `deleting` while the job runs), whether the provider's webhook
            was removed (`unsubscribed`), and why not.

        Raises:
            SubscriptionNotFound: It no longer exists.
            InvalidInput: `wait` is out of range.
        """
        return self.backend.delete_subscription(self.id, wait=wait)
