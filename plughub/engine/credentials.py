"""Credentials: the vault and its key ring behind one object that seals, opens and rotates.

Every other part of the engine seals and opens secrets through `Credentials`; none touches the
vault, the key ring or the master key. Another process (a server replica, `plughub keys rotate`)
may rotate the data keys at any time: opening a record sealed with a key this process has not
loaded reloads the ring once, and a write refused because its key was rotated away is sealed and
written again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from plughub.config import Settings
from plughub.engine.keyring import load_master_key, open_vault, rotate_data_key
from plughub.engine.store import Sealed, StaleKeyError, Store
from plughub.engine.vault import KeyNotInRing, Vault, encode_key, new_key

__all__ = ["Credentials", "Seal", "generate_master_key"]

logger = logging.getLogger("plughub.engine")
T = TypeVar("T")

Seal = Callable[[str, Mapping[str, Any]], Sealed]
"""Seals a record's secrets: `seal(record_id, data) -> Sealed` (what `Credentials.write` hands out)."""


def generate_master_key() -> str:
    """A new random master key, in the form `PLUGHUB_SECRET_KEY` takes (base64url of 32 bytes)."""
    return encode_key(new_key())


class Credentials:
    """Seal and open records' secrets with the store's data keys.

    The key ring is opened on first use, so that commands that touch no secret need no key.

    Args:
        store: Where the wrapped data keys and the sealed records are.
        settings: Where the master key comes from (`PLUGHUB_SECRET_KEY`, the key file under home).
    """

    def __init__(self, store: Store, settings: Settings) -> None:
        self._store = store
        self._settings = settings
        self._vault: Vault | None = None
        self._master: bytes | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Credentials(opened={self._vault is not None})"

    @property
    def active_key_id(self) -> str:
        """The id of the data key that seals new records."""
        return self._ring().active

    @property
    def key_ids(self) -> list[str]:
        """The ids of the data keys this process holds."""
        return self._ring().key_ids

    def open(self, record_id: str, blob: bytes) -> dict[str, Any]:
        """Open a record's secrets.

        A key this process does not hold means another process rotated the keys: the ring is
        reloaded once.

        Args:
            record_id: The record the ciphertext belongs to (bound as associated data).
            blob: The ciphertext.

        Returns:
            The secrets.

        Raises:
            CredentialError: The ciphertext is damaged, belongs to another record, or was sealed
                with a key the store no longer has.
            VaultKeyError: The master key is missing or does not open the store.
        """
        try:
            return self._ring().open(record_id, blob)
        except KeyNotInRing:
            return self._reload().open(record_id, blob)

    def read(self, record_id: str) -> dict[str, Any]:
        """Read a record's sealed secrets from the store and open them.

        Args:
            record_id: The record (a connection id, `oauth-app:...`).

        Returns:
            The secrets; empty when the record has none.

        Raises:
            CredentialError: They do not open (see `open`).
        """
        blob = self._store.credentials.get(record_id)
        return self.open(record_id, blob) if blob else {}

    def seal(self, record_id: str, data: Mapping[str, Any]) -> Sealed:
        """Seal a record's secrets with the active data key.

        Args:
            record_id: The record, bound as associated data.
            data: JSON-serialisable secrets.

        Returns:
            The ciphertext and the key id the store checks on writing it.
        """
        vault = self._ring()
        return Sealed(vault.active, vault.seal(record_id, data))

    def write(self, write: Callable[[Seal], T]) -> T:
        """Seal and store; if another process rotated the keys meanwhile, reload and do it again.

        Args:
            write: Seals with the function it is given and writes to the store in one transaction
                (the store refuses a ciphertext whose key is no longer active: `StaleKeyError`).

        Returns:
            What `write` returns.
        """
        try:
            return write(self.seal)
        except StaleKeyError:
            self._reload()
            return write(self.seal)

    def rotate(self) -> int:
        """Re-encrypt every stored secret under a new data key, in one transaction.

        Returns:
            How many records were re-encrypted.
        """
        vault = self._ring()
        with self._lock:
            assert self._master is not None  # noqa: S101 - set when the ring was opened above
            self._vault, count = rotate_data_key(self._store, self._master, vault)
            active = self._vault.active
        logger.info("rotated the data key: %d records re-encrypted under %s", count, active)
        return count

    def _ring(self) -> Vault:
        if self._vault is None:
            with self._lock:
                if self._vault is None:
                    master = load_master_key(
                        self._settings.home,
                        self._settings.secret_key,
                        store_has_keys=bool(self._store.vault_keys.list()),
                    )
                    self._vault = open_vault(self._store, master)
                    self._master = master
        return self._vault

    def _reload(self) -> Vault:
        self._ring()
        with self._lock:
            assert self._master is not None  # noqa: S101 - set when the ring was opened above
            self._vault = open_vault(self._store, self._master)
            return self._vault
