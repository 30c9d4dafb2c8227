"""Shared fixtures: every test gets its own PLUGHUB_HOME and a clean environment."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from plughub.backends import Backend, EmbeddedBackend, reset_backend, set_backend
from plughub.config import Settings
from plughub.engine import Engine
from plughub.factories import IntegrationFactory, ModelFactory
from plughub.sandbox import SandboxCredentials, SandboxServer
from tests.upstream import Upstream

CANARY_API_KEY = "canary-apikey-7f3a9c1e5b2d4f60a8e1"
CANARY_TOKEN = "canary-token-2b8d6f0a4c1e3g5h7j9k"
CANARY_PASSWORD = "canary-password-9z8y7x6w5v4u3t2s"
CANARIES = (CANARY_API_KEY, CANARY_TOKEN, CANARY_PASSWORD)


@pytest.fixture(autouse=True)
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point PLUGHUB_HOME at a fresh directory and drop every other PLUGHUB_* variable."""
    for name in list(os.environ):
        if name.startswith("PLUGHUB_"):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    monkeypatch.setenv("PLUGHUB_HOME", str(home))
    monkeypatch.setenv("PLUGHUB_RETRY_MAX_WAIT", "0.2")
    monkeypatch.setenv("PLUGHUB_SUBSCRIBE_RETRY_DELAYS", "0.1,0.1")  # 3 attempts, quickly
    reset_backend()
    IntegrationFactory.backend = None
    ModelFactory.backend = None
    yield home
    reset_backend()


@pytest.fixture
def home(clean_env: Path) -> Path:
    return clean_env


@pytest.fixture
def settings(home: Path) -> Settings:
    return Settings.from_env()


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    eng = Engine(settings)
    yield eng
    eng.close()


@pytest.fixture
def backend(engine: Engine) -> EmbeddedBackend:
    """The process default backend, over the test's engine."""
    embedded = EmbeddedBackend(engine=engine)
    set_backend(embedded)
    return embedded


@pytest.fixture(params=["embedded", "remote"])
def any_backend(request: pytest.FixtureRequest, engine: Engine) -> Iterator[Backend]:
    """The process default backend: the engine in process, or a real server over it.

    The server's API key belongs to the team `local`, the embedded engine's, so both see the same
    data and tests can compare them.
    """
    if request.param == "embedded":
        embedded = EmbeddedBackend(engine=engine)
        set_backend(embedded)
        yield embedded
        return
    from plughub.backends.remote import RemoteBackend
    from plughub.server import create_app
    from tests.servers import serve_app

    engine.teams.create_team("local team", team_id="local")
    _record, key = engine.teams.create_api_key("local", "tests")
    with serve_app(create_app(engine)) as url:
        remote = RemoteBackend(url, key)
        set_backend(remote)
        yield remote
        remote.close()


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    creds = SandboxCredentials(api_key=CANARY_API_KEY, token=CANARY_TOKEN, username="demo", password=CANARY_PASSWORD)
    with SandboxServer(creds) as server:
        yield server


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    server = Upstream()
    yield server
    server.close()


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
