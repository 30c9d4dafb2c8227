"""The vault: AES-256-GCM records bound to their id, with a key id on every ciphertext."""

from __future__ import annotations

import pytest

from plughub.engine.vault import (
    KEY_BYTES,
    Vault,
    decode_key,
    encode_key,
    master_key_id,
    new_key,
    unwrap_key,
    wrap_key,
)
from plughub.exceptions import CredentialError, VaultKeyError

SECRETS = {"api_key": "canary-apikey-7f3a9c1e5b2d4f60a8e1", "n": 3, "nested": {"a": [1, 2]}}


@pytest.fixture
def vault() -> Vault:
    return Vault({"k1": new_key()}, "k1")


def test_round_trip(vault: Vault) -> None:
    blob = vault.seal("conn-1", SECRETS)
    assert vault.open("conn-1", blob) == SECRETS
    assert b"canary" not in blob


def test_each_seal_uses_a_fresh_nonce(vault: Vault) -> None:
    assert vault.seal("conn-1", SECRETS) != vault.seal("conn-1", SECRETS)


def test_ciphertext_is_bound_to_its_record(vault: Vault) -> None:
    blob = vault.seal("conn-1", SECRETS)
    with pytest.raises(CredentialError, match="conn-2.*altered or belong to another record"):
        vault.open("conn-2", blob)


@pytest.mark.parametrize("position", [0, 1, 5, 20, -1])
def test_tampering_is_detected(vault: Vault, position: int) -> None:
    blob = bytearray(vault.seal("conn-1", SECRETS))
    blob[position] ^= 0x01
    with pytest.raises(CredentialError):
        vault.open("conn-1", bytes(blob))


def test_tampered_body_says_altered(vault: Vault) -> None:
    blob = bytearray(vault.seal("conn-1", SECRETS))
    blob[-1] ^= 0x80
    with pytest.raises(CredentialError, match="conn-1 do not open: they were altered"):
        vault.open("conn-1", bytes(blob))


def test_truncated_or_unknown_format(vault: Vault) -> None:
    with pytest.raises(CredentialError, match="not in a format"):
        vault.open("conn-1", b"")
    with pytest.raises(CredentialError, match="not in a format"):
        vault.open("conn-1", b"\x09" + vault.seal("conn-1", SECRETS)[1:])


def test_key_id_is_embedded(vault: Vault) -> None:
    blob = vault.seal("conn-1", SECRETS)
    assert Vault.key_id_of(blob) == "k1"
    assert blob[2:4] == b"k1"


def test_unknown_key_id(vault: Vault) -> None:
    other = Vault({"k9": new_key()}, "k9")
    with pytest.raises(CredentialError, match="sealed with key b'k9', which is not in the ring"):
        vault.open("conn-1", other.seal("conn-1", SECRETS))


def test_same_key_id_with_another_key_does_not_open() -> None:
    blob = Vault({"k1": new_key()}, "k1").seal("conn-1", SECRETS)
    with pytest.raises(CredentialError, match="altered or belong to another record"):
        Vault({"k1": new_key()}, "k1").open("conn-1", blob)


def test_ring_with_old_and_new_keys_opens_both() -> None:
    old_key, new = new_key(), new_key()
    old_blob = Vault({"old": old_key}, "old").seal("conn-1", {"v": "old"})
    ring = Vault({"old": old_key, "new": new}, "new")
    new_blob = ring.seal("conn-2", {"v": "new"})
    assert Vault.key_id_of(new_blob) == "new"
    assert ring.open("conn-1", old_blob) == {"v": "old"}
    assert ring.open("conn-2", new_blob) == {"v": "new"}
    assert ring.key_ids == ["new", "old"]
    assert ring.active == "new"


def test_active_key_must_be_in_the_ring() -> None:
    with pytest.raises(CredentialError, match="active data key k2 is not in the key ring"):
        Vault({"k1": new_key()}, "k2")


def test_repr_holds_no_key_bytes() -> None:
    key = new_key()
    vault = Vault({"k1": key}, "k1")
    text = repr(vault)
    assert text == "Vault(keys=['k1'], active='k1')"
    for form in (encode_key(key), key.hex(), repr(key), str(key)):
        assert form not in text


def test_encode_decode_round_trip() -> None:
    key = new_key()
    assert len(key) == KEY_BYTES
    text = encode_key(key)
    assert "=" not in text
    assert decode_key(text, source="test") == key
    assert decode_key(f"  {text}\n", source="test") == key


@pytest.mark.parametrize(
    "text",
    [
        "not-a-key",
        "c2hvcnQ",  # base64url of b"short"
        encode_key(b"x" * 31),
        encode_key(b"x" * 33),
        "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
        "é" * 43,
        "",
    ],
)
def test_decode_key_errors_do_not_echo_the_key(text: str) -> None:
    with pytest.raises(VaultKeyError, match="^PLUGHUB_SECRET_KEY is not a valid master key: it must be 32") as info:
        decode_key(text, source="PLUGHUB_SECRET_KEY")
    if text:
        assert text not in str(info.value)
        assert text not in repr(info.value)
        assert text not in str(info.value.to_dict())


def test_wrap_and_unwrap() -> None:
    master, data_key = new_key(), new_key()
    wrapped = wrap_key(master, "k1", data_key)
    assert data_key not in wrapped
    assert unwrap_key(master, "k1", wrapped) == data_key
    with pytest.raises(VaultKeyError, match="does not open data key k1"):
        unwrap_key(new_key(), "k1", wrapped)
    with pytest.raises(VaultKeyError, match="does not open data key k2"):
        unwrap_key(master, "k2", wrapped)


def test_master_key_id_is_a_stable_fingerprint() -> None:
    master = new_key()
    fingerprint = master_key_id(master)
    assert fingerprint == master_key_id(master)
    assert fingerprint != master_key_id(new_key())
    assert len(fingerprint) == 16
    assert fingerprint not in (master.hex(), encode_key(master))
