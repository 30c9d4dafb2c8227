"""The master key (env or key file) and data key rotation, through the engine and the SDK."""

from __future__ import annotations

import dataclasses
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from plughub import AuthenticationSchema, IntegrationFactory, ModelFactory
from plughub.backends import EmbeddedBackend, set_backend
from plughub.config import Settings
from plughub.engine import Engine
from plughub.engine.keyring import KEY_FILE_NAME, load_master_key
from plughub.engine.store.tables import credentials, vault_keys
from plughub.engine.vault import Vault, decode_key, encode_key, master_key_id, new_key
from plughub.enums import ResponseStatus
from plughub.exceptions import CredentialError, VaultKeyError
from plughub.sandbox import SandboxServer
from tests.conftest import CANARY_API_KEY, CANARY_PASSWORD, CANARY_TOKEN


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _connect_all(sandbox: SandboxServer) -> dict[str, str]:
    """One sandbox connection per scheme, through the SDK; returns connection ids by scheme."""
    sandbox_integration = IntegrationFactory.get("sandbox")
    data: dict[AuthenticationSchema, dict[str, Any]] = {
        AuthenticationSchema.API_KEY: {"api_key": CANARY_API_KEY},
        AuthenticationSchema.BEARER_TOKEN: {"token": CANARY_TOKEN},
        AuthenticationSchema.BASIC: {"username": "demo", "password": CANARY_PASSWORD},
        AuthenticationSchema.NO_AUTH: {},
    }
    ids = {}
    for scheme, values in data.items():
        response = sandbox_integration.connect(scheme, data={**values, "port": sandbox.port})
        assert response.status == ResponseStatus.SUCCESS, response
        ids[scheme.value] = response.data["id"]
    return ids


def _assert_all_run(ids: dict[str, str]) -> None:
    for scheme, connection_id in ids.items():
        if scheme == "NO_AUTH":
            continue  # /whoami needs credentials; NO_AUTH has none to rotate
        result = ModelFactory.get(connection_id).run("SANDBOX_WHOAMI")
        assert result.status == ResponseStatus.SUCCESS, result
        assert result.data["scheme"] == scheme


def _credential_rows(engine: Engine) -> dict[str, tuple[str, bytes]]:
    with engine.store.db.sql_engine.connect() as db:
        rows = db.execute(select(credentials.c.record_id, credentials.c.key_id, credentials.c.ciphertext)).all()
    return {r.record_id: (r.key_id, bytes(r.ciphertext)) for r in rows}


def _vault_key_rows(engine: Engine) -> list[tuple[str, bool]]:
    with engine.store.db.sql_engine.connect() as db:
        rows = db.execute(select(vault_keys.c.kid, vault_keys.c.active)).all()
    return sorted((r.kid, bool(r.active)) for r in rows)


@pytest.fixture
def other_engine(settings: Settings) -> Iterator[list[Engine]]:
    """Engines a test opens on the same home; closed at the end."""
    opened: list[Engine] = []
    yield opened
    for eng in opened:
        eng.close()


# load_master_key


def test_new_store_gets_a_private_key_file(home: Path) -> None:
    key = load_master_key(home, None, store_has_keys=False)
    path = home / KEY_FILE_NAME
    assert path.is_file()
    assert _mode(path) == 0o600
    assert decode_key(path.read_text(encoding="ascii"), source="test") == key
    # The second call reads the same file.
    assert load_master_key(home, None, store_has_keys=True) == key


def test_secret_key_setting_wins_and_creates_no_file(home: Path) -> None:
    key = new_key()
    assert load_master_key(home, encode_key(key), store_has_keys=False) == key
    assert load_master_key(home, encode_key(key), store_has_keys=True) == key
    assert not (home / KEY_FILE_NAME).exists()


def test_missing_key_file_for_an_existing_store(home: Path) -> None:
    path = home / KEY_FILE_NAME
    with pytest.raises(VaultKeyError, match=re.escape(f"Restore {path} from a backup or set PLUGHUB_SECRET_KEY")):
        load_master_key(home, None, store_has_keys=True)
    assert not path.exists()


def test_malformed_secret_key(home: Path) -> None:
    bad = "definitely-not-a-valid-master-key"
    with pytest.raises(VaultKeyError, match="^PLUGHUB_SECRET_KEY is not a valid master key") as info:
        load_master_key(home, bad, store_has_keys=False)
    assert bad not in str(info.value)
    assert not (home / KEY_FILE_NAME).exists()


def test_malformed_key_file_names_the_file(home: Path) -> None:
    home.mkdir(parents=True)
    path = home / KEY_FILE_NAME
    path.write_text("garbage-in-the-key-file\n", encoding="ascii")
    path.chmod(0o600)
    with pytest.raises(VaultKeyError, match=re.escape(f"{path} is not a valid master key")) as info:
        load_master_key(home, None, store_has_keys=True)
    assert "garbage-in-the-key-file" not in str(info.value)


# Through the engine


def test_engine_creates_the_key_file_on_first_secret(
    backend: EmbeddedBackend, engine: Engine, sandbox: SandboxServer, home: Path
) -> None:
    assert not (home / KEY_FILE_NAME).exists()  # catalog calls need no key
    assert IntegrationFactory.get("sandbox").id == "sandbox"
    assert not (home / KEY_FILE_NAME).exists()
    ids = _connect_all(sandbox)
    assert _mode(home / KEY_FILE_NAME) == 0o600
    _assert_all_run(ids)


def test_engine_uses_the_secret_key_setting(
    settings: Settings, sandbox: SandboxServer, home: Path, other_engine: list[Engine]
) -> None:
    master = new_key()
    eng = Engine(dataclasses.replace(settings, secret_key=encode_key(master)))
    other_engine.append(eng)
    set_backend(EmbeddedBackend(engine=eng))
    ids = _connect_all(sandbox)
    assert not (home / KEY_FILE_NAME).exists()
    assert {r.master_kid for r in eng.store.vault_keys.list()} == {master_key_id(master)}
    _assert_all_run(ids)


def test_engine_with_a_missing_key_file(
    backend: EmbeddedBackend,
    engine: Engine,
    settings: Settings,
    sandbox: SandboxServer,
    home: Path,
    other_engine: list[Engine],
) -> None:
    ids = _connect_all(sandbox)
    (home / KEY_FILE_NAME).unlink()
    fresh = Engine(settings)
    other_engine.append(fresh)
    with pytest.raises(VaultKeyError, match="Restore .*master.key from a backup or set PLUGHUB_SECRET_KEY"):
        fresh.actions.run(ids["API_KEY"], "SANDBOX_WHOAMI")
    with pytest.raises(VaultKeyError, match="will not create a new key for an existing store"):
        _ = fresh.credentials.active_key_id
    assert not (home / KEY_FILE_NAME).exists()


def test_engine_with_the_wrong_secret_key(
    settings: Settings, sandbox: SandboxServer, other_engine: list[Engine]
) -> None:
    right, wrong = encode_key(new_key()), encode_key(new_key())
    first = Engine(dataclasses.replace(settings, secret_key=right))
    other_engine.append(first)
    set_backend(EmbeddedBackend(engine=first))
    ids = _connect_all(sandbox)

    second = Engine(dataclasses.replace(settings, secret_key=wrong))
    other_engine.append(second)
    with pytest.raises(VaultKeyError, match="is not the one this store was created with") as info:
        second.actions.run(ids["API_KEY"], "SANDBOX_WHOAMI")
    for key in (right, wrong):
        assert key not in str(info.value)
        assert key not in repr(info.value)


def test_engine_with_a_malformed_secret_key(settings: Settings, other_engine: list[Engine]) -> None:
    bad = "too-short"
    eng = Engine(dataclasses.replace(settings, secret_key=bad))
    other_engine.append(eng)
    expected = "PLUGHUB_SECRET_KEY is not a valid master key.*plughub keys generate"
    with pytest.raises(VaultKeyError, match=expected) as info:
        _ = eng.credentials.active_key_id
    assert bad not in str(info.value)


# Rotation


def test_rotate_reencrypts_every_record(
    backend: EmbeddedBackend, engine: Engine, settings: Settings, sandbox: SandboxServer, other_engine: list[Engine]
) -> None:
    ids = _connect_all(sandbox)
    old_active = engine.credentials.active_key_id
    before = _credential_rows(engine)
    assert set(before) == {ids["API_KEY"], ids["BEARER_TOKEN"], ids["BASIC"]}
    assert {kid for kid, _ in before.values()} == {old_active}
    assert _vault_key_rows(engine) == [(old_active, True)]

    assert engine.credentials.rotate() == 3

    new_active = engine.credentials.active_key_id
    assert new_active != old_active
    after = _credential_rows(engine)
    assert set(after) == set(before)
    for record_id, (kid, blob) in after.items():
        assert kid == new_active
        assert Vault.key_id_of(blob) == new_active
        assert blob != before[record_id][1]
    assert _vault_key_rows(engine) == [(new_active, True)]
    _assert_all_run(ids)

    # A new process on the same home opens the rotated store with the same master key.
    fresh = Engine(settings)
    other_engine.append(fresh)
    set_backend(EmbeddedBackend(engine=fresh))
    assert fresh.credentials.active_key_id == new_active
    _assert_all_run(ids)

    # And it can rotate again.
    assert fresh.credentials.rotate() == 3
    assert {kid for kid, _ in _credential_rows(fresh).values()} == {fresh.credentials.active_key_id}
    _assert_all_run(ids)


def test_rotate_an_empty_store(engine: Engine) -> None:
    old = engine.credentials.active_key_id
    assert engine.credentials.rotate() == 0
    assert engine.credentials.active_key_id != old
    assert _vault_key_rows(engine) == [(engine.credentials.active_key_id, True)]


def test_rotate_is_one_transaction(
    backend: EmbeddedBackend,
    engine: Engine,
    settings: Settings,
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    other_engine: list[Engine],
) -> None:
    ids = _connect_all(sandbox)
    old_active = engine.credentials.active_key_id
    before = _credential_rows(engine)
    keys_before = _vault_key_rows(engine)

    real_open = Vault.open
    calls = []

    def failing_open(self: Vault, record_id: str, blob: bytes) -> dict[str, Any]:
        calls.append(record_id)
        if len(calls) == 2:
            raise CredentialError("simulated failure while re-sealing")
        return real_open(self, record_id, blob)

    monkeypatch.setattr(Vault, "open", failing_open)
    with pytest.raises(CredentialError, match="simulated failure while re-sealing"):
        engine.credentials.rotate()
    assert len(calls) == 2
    monkeypatch.setattr(Vault, "open", real_open)

    assert _credential_rows(engine) == before
    assert _vault_key_rows(engine) == keys_before
    assert engine.credentials.active_key_id == old_active
    _assert_all_run(ids)

    fresh = Engine(settings)
    other_engine.append(fresh)
    assert fresh.credentials.active_key_id == old_active
    assert fresh.credentials.key_ids == [old_active]


def test_running_engine_sees_a_rotation_made_elsewhere(
    backend: EmbeddedBackend, engine: Engine, settings: Settings, sandbox: SandboxServer, other_engine: list[Engine]
) -> None:
    ids = _connect_all(sandbox)
    rotator = Engine(settings)
    other_engine.append(rotator)
    assert rotator.credentials.rotate() == 3
    assert engine.actions.run(ids["API_KEY"], "SANDBOX_WHOAMI").status == ResponseStatus.SUCCESS


def test_connection_made_by_a_stale_engine_survives(
    backend: EmbeddedBackend, engine: Engine, settings: Settings, sandbox: SandboxServer, other_engine: list[Engine]
) -> None:
    _ = engine.credentials.active_key_id  # this engine has opened its key ring
    rotator = Engine(settings)
    other_engine.append(rotator)
    rotator.credentials.rotate()
    response = IntegrationFactory.get("sandbox").connect(
        AuthenticationSchema.API_KEY, data={"api_key": CANARY_API_KEY, "port": sandbox.port}
    )
    connection_id = response.data["id"]
    fresh = Engine(settings)
    other_engine.append(fresh)
    assert fresh.actions.run(connection_id, "SANDBOX_WHOAMI").status == ResponseStatus.SUCCESS
