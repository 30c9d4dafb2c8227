"""Pending runs live in the database: lost and expired runs, and several servers sharing them."""

from __future__ import annotations

import dataclasses
import time
from datetime import timedelta

import httpx
from sqlalchemy import func, select

from plughub.config import Settings
from plughub.engine import Engine
from plughub.engine.store import PENDING, PendingRunRecord, utcnow
from plughub.engine.store.tables import pending_runs
from plughub.enums import AuthenticationSchema
from plughub.schemas import ConnectRequest
from plughub.server import create_app
from tests.aixplain.conftest import SLOW, Wire, upstream_definition
from tests.conftest import CANARY_TOKEN
from tests.servers import postgres_database, serve_app
from tests.upstream import Reply, Upstream


def _connect(engine: Engine, team: str, upstream: Upstream) -> str:
    upstream.route("GET", "/slow", Reply(200, {"report": "done"}, delay=SLOW))
    engine.integrations.create(upstream_definition(upstream), team=team)
    request = ConnectRequest(
        integration_id="wire-upstream", scheme=AuthenticationSchema.BEARER_TOKEN, data={"token": CANARY_TOKEN}
    )
    return engine.connections.create(request, team=team).id


def _pending(connection_id: str, team: str, request_id: str, **times: timedelta) -> PendingRunRecord:
    now = utcnow()
    return PendingRunRecord(
        request_id=request_id,
        team_id=team,
        connection_id=connection_id,
        action="WIRE_UPSTREAM_SLOW",
        status=PENDING,
        deadline=now + times.get("deadline", timedelta(minutes=5)),
        expires_at=now + times.get("expires", timedelta(hours=1)),
    )


def _rows(engine: Engine) -> int:
    with engine.store.db.sql_engine.connect() as db:
        return int(db.execute(select(func.count()).select_from(pending_runs)).scalar() or 0)


def test_a_lost_run_fails_and_an_expired_one_is_gone(wire: Wire, upstream: Upstream) -> None:
    team = wire.team_a.id
    connection = _connect(wire.engine, team, upstream)
    store = wire.engine.store
    store.pending_runs.create(_pending(connection, team, "req_lost", deadline=-timedelta(seconds=1)))
    store.pending_runs.create(_pending(connection, team, "req_running"))
    store.pending_runs.create(_pending(connection, team, "req_old", expires=-timedelta(seconds=1)))
    with wire.http(wire.team_a.key) as a:
        lost = a.get("/api/v1/data/req_lost")
        assert lost.status_code == 200
        assert lost.json() == {
            "status": "FAILED",
            "completed": True,
            "data": None,
            "error_message": "the run of WIRE_UPSTREAM_SLOW did not finish: the server process running it stopped. "
            "Run it again.",
            "errorCode": "run_lost",
            "statusCode": 500,
            "requestId": "req_lost",
        }
        assert a.get("/api/v1/data/req_running").json() == {
            "status": "IN_PROGRESS",
            "completed": False,
            "requestId": "req_running",
        }
        expired = a.get("/api/v1/data/req_old")
        assert expired.status_code == 404
        assert expired.json()["message"].startswith("No run with request id 'req_old'")
    # The next run sweeps expired rows.
    assert _rows(wire.engine) == 3
    store.pending_runs.create(_pending(connection, team, "req_new"))
    assert _rows(wire.engine) == 3
    assert store.pending_runs.get("req_old", team) is None
    assert store.pending_runs.get("req_new", wire.team_b.id) is None


def test_servers_on_one_postgresql_database_share_pending_runs(home: object, upstream: Upstream) -> None:
    with postgres_database() as database_url:
        settings = dataclasses.replace(Settings.from_env(), allow_private_networks="127.0.0.0/8")
        first = Engine(settings, database_url=database_url, guard_outbound=True)
        team = first.store.tenancy.create_team("pg-team")
        assert team is not None
        _record, key = first.store.tenancy.create_api_key(team.id, "tests")
        connection = _connect(first, team.id, upstream)
        second = Engine(settings, database_url=database_url, guard_outbound=True)
        try:
            with (
                serve_app(create_app(first, settings)) as one,
                serve_app(create_app(second, settings)) as two,
                httpx.Client(headers={"x-api-key": key}, timeout=20) as http,
            ):
                started = http.post(f"{one}/api/v1/execute/{connection}", json={"action": "WIRE_UPSTREAM_SLOW"})
                body = started.json()
                assert body["status"] == "IN_PROGRESS", body
                assert body["data"] == f"{one}/api/v1/data/{body['requestId']}"
                # The other server answers the poll from the database.
                poll = f"{two}/api/v1/data/{body['requestId']}"
                outcome = http.get(poll).json()
                assert outcome["status"] == "IN_PROGRESS"
                deadline = time.monotonic() + 20
                while outcome["status"] == "IN_PROGRESS" and time.monotonic() < deadline:
                    time.sleep(0.1)
                    outcome = http.get(poll).json()
                assert outcome["status"] == "SUCCESS" and outcome["completed"] is True
                assert outcome["data"] == {"report": "done"}
        finally:
            second.close()
            first.close()


def test_poll_urls_use_the_clients_origin_or_the_public_url(wire: Wire, upstream: Upstream) -> None:
    connection = _connect(wire.engine, wire.team_a.id, upstream)
    body = {"action": "WIRE_UPSTREAM_SLOW", "data": {}}
    port = wire.url.rsplit(":", 1)[1]
    with httpx.Client(headers={"x-api-key": wire.team_a.key}, timeout=20) as http:
        # The v2 SDK sends its key only to the origins it was configured with: localhost is not 127.0.0.1.
        answer = http.post(f"http://localhost:{port}/api/v1/execute/{connection}", json=body).json()
        assert answer["data"] == f"http://localhost:{port}/api/v1/data/{answer['requestId']}"
        public = dataclasses.replace(wire.settings, public_url="https://plughub.example")
        with serve_app(create_app(wire.engine, public)) as behind_proxy:
            answer = http.post(f"{behind_proxy}/api/v1/execute/{connection}", json=body).json()
            assert answer["data"] == f"https://plughub.example/api/v1/data/{answer['requestId']}"
