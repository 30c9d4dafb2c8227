"""B5: connect throughput with a static scheme (validate, encrypt, store), embedded.

`integration.connect(BEARER_TOKEN, data={"token": ...})` one after another, against the floor a
hand-written store would pay for the same durable write: seal the same JSON with AES-256-GCM
(a random nonce, the id as associated data) and insert a connection row and a credential row of
the same sizes with the raw `sqlite3` module, one transaction each, WAL and synchronous=NORMAL as
plughub configures SQLite. AES-GCM alone is shown too.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bench.common import INTEGRATION_ID, TOKEN, Result, definition

NAME = "connect"

_SCHEMA = """
CREATE TABLE connections (id TEXT PRIMARY KEY, integration_id TEXT, name TEXT, description TEXT, scheme TEXT,
  status TEXT, config TEXT, base_url TEXT, team_id TEXT, created_at TEXT, updated_at TEXT);
CREATE TABLE credentials (record_id TEXT PRIMARY KEY, connection_id TEXT REFERENCES connections(id),
  key_id TEXT, ciphertext BLOB, updated_at TEXT);
"""


def _per_second(fn: Callable[[int], object], count: int) -> float:
    started = time.perf_counter()
    for index in range(count):
        fn(index)
    return count / (time.perf_counter() - started)


def _floor(path: Path) -> tuple[Callable[[int], object], Callable[[int], object], Callable[[], None]]:
    """(seal only, seal + raw sqlite insert, close) for the same payload plughub stores."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    db.executescript(_SCHEMA)
    aead = AESGCM(AESGCM.generate_key(bit_length=256))
    kid = secrets.token_hex(4)

    def seal(_index: int) -> bytes:
        record_id = secrets.token_hex(12)
        nonce = os.urandom(12)
        return nonce + aead.encrypt(nonce, json.dumps({"token": TOKEN}).encode(), record_id.encode())

    def store(_index: int) -> None:
        record_id = secrets.token_hex(12)
        nonce = os.urandom(12)
        sealed = nonce + aead.encrypt(nonce, json.dumps({"token": TOKEN}).encode(), record_id.encode())
        now = datetime.now(timezone.utc).isoformat()
        db.execute("BEGIN IMMEDIATE")
        db.execute(
            "INSERT INTO connections VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (record_id, INTEGRATION_ID, "bench", "", "BEARER_TOKEN", "active", "{}", None, "local", now, now),
        )
        db.execute("INSERT INTO credentials VALUES (?,?,?,?,?)", (record_id, record_id, kid, sealed, now))
        db.execute("COMMIT")

    return seal, store, db.close


def run(quick: bool) -> Result:
    from plughub import AuthenticationSchema, IntegrationFactory
    from plughub.backends import EmbeddedBackend, reset_backend, set_backend
    from plughub.config import Settings

    result = Result("B5 connect throughput (BEARER_TOKEN, embedded)", command="python -m bench connect")
    rounds, count = (1, 50) if quick else (5, 500)
    with tempfile.TemporaryDirectory() as tmp:
        set_backend(EmbeddedBackend(settings=Settings(home=Path(tmp) / "home")))
        integration = IntegrationFactory.create(definition(9))  # never called: connect does not reach it

        def connect(index: int) -> object:
            return integration.connect(AuthenticationSchema.BEARER_TOKEN, data={"token": TOKEN}, name=f"c{index}")

        seal, store, close = _floor(Path(tmp) / "floor.db")
        rates: dict[str, list[float]] = {"plughub": [], "floor": [], "seal": []}
        connect(-1)
        for index in range(rounds):
            order = [("plughub", connect), ("floor", store), ("seal", seal)]
            for name, fn in order if index % 2 == 0 else reversed(order):
                rates[name].append(_per_second(fn, count * (20 if name == "seal" else 1)))
        close()
        reset_backend()
    rate = {name: statistics.median(values) for name, values in rates.items()}
    result.add("connects", f"{rounds} rounds x {count}, sequential, one process")
    result.add("plughub integration.connect", f"{rate['plughub']:8.0f} /s  ({1e6 / rate['plughub']:.0f} us each)")
    result.add(
        "floor: AES-GCM seal + raw sqlite3 insert (2 rows, 1 commit)",
        f"{rate['floor']:8.0f} /s  ({1e6 / rate['floor']:.0f} us each)",
    )
    result.add("AES-GCM seal alone", f"{rate['seal']:8.0f} /s  ({1e6 / rate['seal']:.1f} us each)")
    result.ratio("connect time / floor time", rate["floor"] / rate["plughub"])
    result.check("B5 connects per second", rate["plughub"], 1000, "/s", higher_is_better=True)
    return result
