"""What signs a connection's requests, kept for a moment between runs (bounded in time and number)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from plughub.engine.catalog.models import IntegrationSpec
from plughub.engine.redact import Redactor
from plughub.engine.store import ConnectionRecord

__all__ = ["Signer", "Signers"]


@dataclass
class Signer:
    """A connection's opened credentials, the auth flow built from them, and their redactor.

    Attributes:
        credentials: The opened credentials (secret: never in a repr).
        auth: The httpx flow that adds them to a request (None for NO_AUTH).
        redactor: Hides them in whatever comes back.
        reusable: Whether the flow may serve another request (OAuth 1.0a's signs once).
    """

    credentials: Mapping[str, Any] = field(repr=False)
    auth: httpx.Auth | None = field(repr=False)
    redactor: Redactor
    reusable: bool = True


@dataclass(frozen=True)
class _Entry:
    """What a signer was built from, and until when it may serve."""

    updated_at: datetime
    blob: bytes | None
    spec: IntegrationSpec
    signer: Signer
    expires: float


class Signers:
    """Signers by connection for at most `ttl` seconds: a busy connection opens its credentials once.

    An entry serves while what it was built from is unchanged: the connection row's version (its
    `updated_at`, which every write of the row moves), the sealed credentials (the ciphertext,
    which carries its key id and a fresh nonce: every new seal differs) and the definition (a
    redefined integration is a new definition object, held by the entry so that it cannot be
    mistaken for another). So a refreshed token, a reconnect, a rotated key, a deleted connection
    or a redefined integration never meets an old signer, whichever object the store hands out.

    Args:
        ttl: Seconds an entry lives; 0 or less keeps nothing.
        size: The most connections kept (least recently used go first).
    """

    def __init__(self, ttl: float, size: int = 1024) -> None:
        self.ttl = ttl
        self.size = size
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Signers(ttl={self.ttl}, entries={len(self._entries)})"

    def get(self, record: ConnectionRecord, spec: IntegrationSpec, blob: bytes | None) -> Signer | None:
        """The signer built from this version of the connection, credentials and definition, while it lives.

        Args:
            record: The connection row.
            spec: Its integration.
            blob: Its sealed credentials.

        Returns:
            The signer, or None.
        """
        with self._lock:
            entry = self._entries.get(record.id)
            if entry is None:
                return None
            if (
                entry.updated_at == record.updated_at
                and entry.blob == blob
                and entry.spec is spec
                and entry.expires > time.monotonic()
            ):
                self._entries.move_to_end(record.id)
                return entry.signer
            del self._entries[record.id]
            return None

    def put(self, record: ConnectionRecord, spec: IntegrationSpec, blob: bytes | None, signer: Signer) -> Signer:
        """Keep a signer for its connection (one that signs only once is not kept).

        Args:
            record: The connection row it was built from.
            spec: Its integration.
            blob: The sealed credentials it was opened from.
            signer: The signer.

        Returns:
            The signer.
        """
        if self.ttl > 0 and signer.reusable:
            entry = _Entry(record.updated_at, blob, spec, signer, time.monotonic() + self.ttl)
            with self._lock:
                self._entries[record.id] = entry
                self._entries.move_to_end(record.id)
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
        return signer

    def clear(self) -> None:
        """Forget every signer."""
        with self._lock:
            self._entries.clear()
