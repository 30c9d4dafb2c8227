"""The vault: AES-256-GCM with associated data and a small key ring.

Secrets are sealed with a data key (DEK). Each data key is stored wrapped by the master key
(`PLUGHUB_SECRET_KEY` or the key file), so `plughub keys rotate` re-encrypts records under a new
data key without changing the master key the operator manages. Every ciphertext carries the id of
the key that sealed it, and the record's id is bound as associated data, so a ciphertext copied to
another record does not open.

Ciphertext layout: `0x01 | len(kid) | kid | nonce (12 bytes) | AES-GCM(ciphertext || tag)`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from plughub.exceptions import CredentialError, VaultKeyError

__all__ = [
    "KEY_BYTES",
    "KeyNotInRing",
    "Vault",
    "decode_key",
    "encode_key",
    "master_key_id",
    "new_key",
    "unwrap_key",
    "wrap_key",
]

KEY_BYTES = 32
_VERSION = 1
_NONCE_BYTES = 12


class KeyNotInRing(CredentialError):
    """A ciphertext was sealed with a key this vault does not hold (rotated by another process?)."""

    code = "credential_key_unknown"


def new_key() -> bytes:
    """Return 32 random bytes, a fresh AES-256 key."""
    return secrets.token_bytes(KEY_BYTES)


def encode_key(key: bytes) -> str:
    """Encode a key as unpadded base64url, the form `PLUGHUB_SECRET_KEY` takes."""
    return base64.urlsafe_b64encode(key).rstrip(b"=").decode("ascii")


def decode_key(text: str, *, source: str) -> bytes:
    """Decode a base64url key and check its length.

    Args:
        text: The encoded key.
        source: Where it came from, for the error message (never the key itself).

    Returns:
        The 32 key bytes.

    Raises:
        VaultKeyError: The text is not base64url of 32 bytes.
    """
    try:
        raw = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except (ValueError, TypeError):
        raw = b""
    if len(raw) != KEY_BYTES:
        raise VaultKeyError(
            f"{source} is not a valid master key: it must be 32 random bytes in base64url. "
            "Generate one with `plughub keys generate`."
        )
    return raw


def master_key_id(master: bytes) -> str:
    """Return a public fingerprint of the master key (an HMAC, so it reveals nothing of the key)."""
    return hmac.new(master, b"plughub master key id", hashlib.sha256).hexdigest()[:16]


def wrap_key(master: bytes, kid: str, key: bytes) -> bytes:
    """Encrypt a data key under the master key.

    Args:
        master: The master key.
        kid: The data key's id, bound as associated data.
        key: The data key.

    Returns:
        Nonce followed by ciphertext.
    """
    nonce = os.urandom(_NONCE_BYTES)
    return nonce + AESGCM(master).encrypt(nonce, key, b"plughub/dek/" + kid.encode())


def unwrap_key(master: bytes, kid: str, wrapped: bytes) -> bytes:
    """Decrypt a data key.

    Args:
        master: The master key.
        kid: The data key's id.
        wrapped: What `wrap_key` returned.

    Returns:
        The data key.

    Raises:
        VaultKeyError: The master key does not open it.
    """
    try:
        return AESGCM(master).decrypt(wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:], b"plughub/dek/" + kid.encode())
    except InvalidTag:
        raise VaultKeyError(
            f"The master key does not open data key {kid}: this store was encrypted with another master key. "
            "Set PLUGHUB_SECRET_KEY to the original key or restore the original key file."
        ) from None


class Vault:
    """Seal and open records with a ring of data keys; the first key seals, every key opens.

    Args:
        keys: Data keys by id.
        active: The id of the key that seals new records.
    """

    def __init__(self, keys: Mapping[str, bytes], active: str) -> None:
        if active not in keys:
            raise CredentialError(f"the active data key {active} is not in the key ring")
        self._ciphers = {kid: AESGCM(key) for kid, key in keys.items()}
        self.active = active

    def __repr__(self) -> str:
        return f"Vault(keys={sorted(self._ciphers)}, active={self.active!r})"

    @property
    def key_ids(self) -> list[str]:
        """Ids of the keys in the ring."""
        return sorted(self._ciphers)

    def seal(self, record_id: str, secrets_: Mapping[str, Any]) -> bytes:
        """Encrypt a record's secrets.

        Args:
            record_id: The record's id, bound as associated data.
            secrets_: JSON-serialisable secrets.

        Returns:
            The ciphertext, carrying the id of the active key.
        """
        kid = self.active.encode()
        nonce = os.urandom(_NONCE_BYTES)
        plaintext = json.dumps(dict(secrets_), separators=(",", ":")).encode()
        sealed = self._ciphers[self.active].encrypt(nonce, plaintext, _aad(record_id, kid))
        return bytes([_VERSION, len(kid)]) + kid + nonce + sealed

    def open(self, record_id: str, blob: bytes) -> dict[str, Any]:
        """Decrypt a record's secrets.

        Args:
            record_id: The record the ciphertext belongs to.
            blob: What `seal` returned.

        Returns:
            The secrets.

        Raises:
            KeyNotInRing: It was sealed with a key that is not in the ring.
            CredentialError: The ciphertext is damaged or belongs to another record.
        """
        if len(blob) < 2 or blob[0] != _VERSION:
            raise CredentialError(f"the stored credentials of {record_id} are not in a format this plughub reads")
        kid = blob[2 : 2 + blob[1]]
        cipher = self._ciphers.get(kid.decode("ascii", "replace"))
        if cipher is None:
            raise KeyNotInRing(f"the credentials of {record_id} were sealed with key {kid!r}, which is not in the ring")
        rest = blob[2 + len(kid) :]
        try:
            plaintext = cipher.decrypt(rest[:_NONCE_BYTES], rest[_NONCE_BYTES:], _aad(record_id, kid))
        except InvalidTag:
            raise CredentialError(
                f"the credentials of {record_id} do not open: they were altered or belong to another record"
            ) from None
        result: dict[str, Any] = json.loads(plaintext)
        return result

    @staticmethod
    def key_id_of(blob: bytes) -> str:
        """Return the id of the key that sealed a ciphertext."""
        return blob[2 : 2 + blob[1]].decode("ascii", "replace")


def _aad(record_id: str, kid: bytes) -> bytes:
    return b"plughub/v1/" + record_id.encode() + b"/" + kid
