"""Where the master key comes from, and how the store's data keys are opened and rotated."""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path

from plughub.config import ensure_home
from plughub.engine.store import Store, VaultKeyRecord
from plughub.engine.vault import Vault, decode_key, encode_key, master_key_id, new_key, unwrap_key, wrap_key
from plughub.exceptions import VaultKeyError

__all__ = ["KEY_FILE_NAME", "load_master_key", "open_vault", "rotate_data_key"]

KEY_FILE_NAME = "master.key"
logger = logging.getLogger("plughub.keyring")


def load_master_key(home: Path, env_key: str | None, *, store_has_keys: bool) -> bytes:
    """Find the master key: `PLUGHUB_SECRET_KEY`, else `<home>/master.key`.

    A key file is created (mode 0600) only for a store that has no keys yet: an existing store
    whose key is missing is an error, never a silent re-key.

    Args:
        home: `PLUGHUB_HOME`.
        env_key: The value of `PLUGHUB_SECRET_KEY`, if set.
        store_has_keys: Whether the store already holds wrapped data keys.

    Returns:
        The 32-byte master key.

    Raises:
        VaultKeyError: The key is malformed, or missing for an existing store.
    """
    if env_key:
        return decode_key(env_key, source="PLUGHUB_SECRET_KEY")
    path = home / KEY_FILE_NAME
    if path.exists():
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            logger.warning("%s is readable by other users (mode %o); run: chmod 600 %s", path, mode, path)
        return decode_key(path.read_text(encoding="ascii"), source=str(path))
    if store_has_keys:
        raise VaultKeyError(
            f"The secrets in {home} are encrypted with a master key that is not available: "
            f"{path} is missing and PLUGHUB_SECRET_KEY is not set. Restore {path} from a backup or set "
            "PLUGHUB_SECRET_KEY to the key this store was created with. plughub will not create a new key "
            "for an existing store."
        )
    key = new_key()
    ensure_home(home)  # only to write the key: reading one from a read-only home (a mounted secret) is fine
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Another process created it a moment ago: use theirs.
        return decode_key(path.read_text(encoding="ascii"), source=str(path))
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(encode_key(key) + "\n")
    logger.info("created master key file %s (mode 0600)", path)
    return key


def open_vault(store: Store, master: bytes) -> Vault:
    """Open the store's data keys with the master key, creating the first one for a new store.

    Args:
        store: The store.
        master: The master key.

    Returns:
        A vault holding every data key of the store.

    Raises:
        VaultKeyError: The master key is not the one that wrapped the store's keys.
    """
    fingerprint = master_key_id(master)
    records = store.vault_keys.list()
    if not records:
        kid = "k" + secrets.token_hex(6)
        store.vault_keys.add_first(VaultKeyRecord(kid, wrap_key(master, kid, new_key()), fingerprint, True))
        records = store.vault_keys.list()
    wrong = [r for r in records if r.master_kid != fingerprint]
    if wrong:
        raise VaultKeyError(
            f"The master key (id {fingerprint}) is not the one this store was created with "
            f"(id {wrong[0].master_kid}). Set PLUGHUB_SECRET_KEY to the original key, or restore the original "
            "master.key file; plughub does not re-key a store silently."
        )
    keys = {r.kid: unwrap_key(master, r.kid, r.wrapped) for r in records}
    active = next((r.kid for r in records if r.active), records[0].kid)
    return Vault(keys, active)


def rotate_data_key(store: Store, master: bytes, vault: Vault) -> tuple[Vault, int]:
    """Create a new data key and re-encrypt every record with it, in one transaction.

    Args:
        store: The store.
        master: The master key.
        vault: The vault holding the current keys.

    Returns:
        The new vault (holding only the new key) and the number of records re-encrypted.
    """
    kid = "k" + secrets.token_hex(6)
    key = new_key()
    fresh = Vault({kid: key}, kid)

    def reseal(record_id: str, blob: bytes) -> bytes:
        return fresh.seal(record_id, vault.open(record_id, blob))

    count = store.vault_keys.rotate(
        VaultKeyRecord(kid, wrap_key(master, kid, key), master_key_id(master), False), reseal
    )
    return fresh, count
