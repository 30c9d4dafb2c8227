"""The signer cache: an entry serves while the connection's row, its ciphertext and its definition are unchanged.

It is keyed on what a signer depends on, not on which objects the store's read cache hands out:
a write elsewhere (which empties the read cache) does not make a busy connection open its
credentials again, and a changed row, ciphertext or definition never meets an old signer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from plughub.engine import Engine
from plughub.engine.actions.signers import Signer, Signers
from plughub.engine.catalog import Catalog
from plughub.engine.redact import Redactor
from plughub.engine.store import ConnectionRecord
from plughub.enums import AuthenticationSchema, ResponseStatus
from plughub.sandbox import SandboxServer
from plughub.schemas import ConnectRequest
from tests.conftest import CANARY_API_KEY

SECOND = timedelta(seconds=1)


def _signer() -> Signer:
    return Signer({"api_key": "k"}, None, Redactor(["k"]))


def test_an_entry_serves_equal_rows_and_ciphertexts_read_again() -> None:
    spec = Catalog().spec("sandbox")
    record = ConnectionRecord(id="c1", integration_id="sandbox", name="n", scheme="API_KEY", status="active")
    signers = Signers(ttl=60)
    kept = signers.put(record, spec, b"\x01\x02kid-sealed", _signer())
    # The same row and ciphertext as the database holds them, read again into new objects.
    assert signers.get(dataclasses.replace(record), spec, b"\x01\x02kid-sealed") is kept
    assert signers.get(record, spec, b"\x01\x02kid-sealed") is kept


@pytest.mark.parametrize(
    "change",
    [
        lambda record, spec, blob: (
            dataclasses.replace(record, updated_at=record.updated_at + timedelta(0, 1)),
            spec,
            blob,
        ),
        lambda record, spec, blob: (record, spec, blob + b"-resealed"),
        lambda record, spec, blob: (record, spec, None),
        lambda record, spec, blob: (record, spec.model_copy(), blob),
    ],
    ids=["row-written", "credentials-resealed", "credentials-gone", "definition-replaced"],
)
def test_a_changed_row_ciphertext_or_definition_meets_no_old_signer(change: Callable[..., Any]) -> None:
    spec = Catalog().spec("sandbox")
    record = ConnectionRecord(id="c1", integration_id="sandbox", name="n", scheme="API_KEY", status="active")
    signers = Signers(ttl=60)
    signers.put(record, spec, b"sealed", _signer())
    assert signers.get(*change(record, spec, b"sealed")) is None
    assert signers.get(record, spec, b"sealed") is None  # the stale entry is gone


def test_a_write_elsewhere_does_not_reopen_a_busy_connections_credentials(
    engine: Engine, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def connect() -> str:
        data = {"api_key": CANARY_API_KEY, "port": sandbox.port}
        request = ConnectRequest(integration_id="sandbox", scheme=AuthenticationSchema.API_KEY, data=data)
        return engine.connections.create(request).id

    busy = connect()
    assert engine.actions.run(busy, "SANDBOX_WHOAMI").status == ResponseStatus.SUCCESS
    opened: list[str] = []
    real_open = engine.credentials.open

    def counting_open(record_id: str, blob: bytes) -> dict[str, Any]:
        opened.append(record_id)
        return real_open(record_id, blob)

    monkeypatch.setattr(engine.credentials, "open", counting_open)
    connect()  # a write: the store's read cache is emptied, its rows are read into new objects
    assert engine.actions.run(busy, "SANDBOX_WHOAMI").status == ResponseStatus.SUCCESS
    assert opened == []
    # Its own credentials rewritten: opened again, and the new value is what is sent.
    engine.credentials.write(
        lambda seal: engine.store.credentials.put(busy, seal(busy, {"api_key": "wrong"}), connection_id=busy)
    )
    refused = engine.actions.run(busy, "SANDBOX_WHOAMI")
    assert opened == [busy]
    assert refused.status == ResponseStatus.FAILED and refused.status_code == 401
