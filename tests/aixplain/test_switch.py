"""`PLUGHUB_AIXPLAIN_COMPAT` turns the aiXplain routes off; they are on by default."""

from __future__ import annotations

import httpx
import pytest

from plughub.config import Settings
from plughub.exceptions import ConfigurationError
from plughub.server import create_app
from tests.servers import serve_app


@pytest.mark.parametrize("value", ["0", "false", "Off", "no"])
def test_the_switch_off_removes_the_routes(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("PLUGHUB_AIXPLAIN_COMPAT", value)
    settings = Settings.from_env()
    assert settings.aixplain_compat is False
    app = create_app(settings=settings)
    assert not hasattr(app.api.state, "aixplain_runs")
    engine = app.api.state.engine
    team = engine.teams.create_team("switch")
    assert team is not None
    _record, key = engine.teams.create_api_key(team.id, "tests")
    with serve_app(app) as url, httpx.Client(base_url=url, headers={"x-api-key": key}, timeout=10) as client:
        for method, path in (
            ("POST", "/sdk/models/paginate"),
            ("GET", "/sdk/models/github"),
            ("GET", "/v2/integrations/github"),
            ("POST", "/api/v2/execute/github"),
            ("POST", "/api/v1/execute/github"),
            ("GET", "/api/v1/data/req_x"),
        ):
            answer = client.request(method, path, json={} if method == "POST" else None)
            assert answer.status_code in (404, 405), (path, answer.status_code)
            assert set(answer.json()) == {"error", "message", "details"}, path  # plughub's own shape
        assert client.get("/v1/integrations/github").status_code == 200


def test_the_switch_is_on_by_default_and_refuses_nonsense(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings.from_env().aixplain_compat is True
    monkeypatch.setenv("PLUGHUB_AIXPLAIN_COMPAT", "1")
    assert Settings.from_env().aixplain_compat is True
    monkeypatch.setenv("PLUGHUB_AIXPLAIN_COMPAT", "maybe")
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_env()
    assert raised.value.message == "PLUGHUB_AIXPLAIN_COMPAT must be 1/true/yes/on or 0/false/no/off, not 'maybe'."
    monkeypatch.setenv("PLUGHUB_AIXPLAIN_COMPAT", "")
    monkeypatch.setenv("PLUGHUB_AIXPLAIN_SYNC_WAIT", "2.5")
    assert Settings.from_env().aixplain_sync_wait == 2.5
    monkeypatch.setenv("PLUGHUB_AIXPLAIN_SYNC_WAIT", "soon")
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_env()
    assert raised.value.message == "PLUGHUB_AIXPLAIN_SYNC_WAIT must be a number of seconds, not 'soon'."
