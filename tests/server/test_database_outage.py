"""A PostgreSQL outage under a live server: 503 with Retry-After meanwhile, every run audited, a clean recovery.

The cluster is the test's own (see `tests.servers.PrivateCluster`): stopping it touches nothing else.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from plughub.engine.audit import AuditLog
from plughub.engine.store import Database, RunRecord, Store, open_database
from plughub.exceptions import DatabaseUnavailable
from plughub.sandbox import SandboxServer
from tests.server.conftest import Hub, HubFactory, Tenant, assert_error, connect_sandbox, run
from tests.servers import PrivateCluster, private_postgres

pytestmark = pytest.mark.slow


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    with private_postgres() as running:
        yield running


@pytest.fixture
def pg_hub(cluster: PrivateCluster, make_hub: HubFactory) -> Hub:
    # Rows read by a run are cached for a minute, so that the engine can still run actions while
    # the database is down, and the audit must keep what it cannot write yet.
    return make_hub(database_url=cluster.url, cache_ttl=60.0)


def _unavailable(response: httpx.Response, cluster: PrivateCluster) -> None:
    body = assert_error(response, 503, "database_unavailable")
    assert response.headers["Retry-After"] == "5"
    assert "try again" in body["message"]
    assert str(cluster.port) not in response.text  # where the database lives is the operator's business


def test_a_database_outage_is_503_and_loses_no_audited_run(
    pg_hub: Hub, cluster: PrivateCluster, sandbox: SandboxServer
) -> None:
    team: Tenant = pg_hub.team("outage")
    connection_id = connect_sandbox(team.client, sandbox)
    # Many runs at once, so that the pool holds many connections when the database goes away.
    with ThreadPoolExecutor(16) as pool:
        before = list(pool.map(lambda _: run(team.client, connection_id, "SANDBOX_WHOAMI"), range(48)))
    assert [r.status_code for r in before] == [200] * 48
    successes = sum(r.json()["status"] == "SUCCESS" for r in before)

    cluster.stop()
    # Each kind of route: the run route, a FastAPI route, readiness, the runs list.
    _unavailable(run(team.client, connection_id, "SANDBOX_WHOAMI"), cluster)
    _unavailable(team.client.get("/v1/connections"), cluster)
    _unavailable(team.client.get(f"/v1/connections/{connection_id}/runs"), cluster)
    _unavailable(pg_hub.client().get("/v1/ready"), cluster)
    assert pg_hub.client().get("/v1/health").status_code == 200
    with pytest.raises(DatabaseUnavailable):
        pg_hub.engine.connections.list(team=team.id)
    # The engine still runs actions from what it has cached; their audit waits for the database.
    during = [pg_hub.engine.actions.run(connection_id, "SANDBOX_WHOAMI", team=team.id) for _ in range(4)]
    assert [r.status.value for r in during] == ["SUCCESS"] * 4
    successes += 4

    cluster.start()
    # Back at once: every connection the pool held is dead, and none of them reaches a request.
    after = [run(team.client, connection_id, "SANDBOX_WHOAMI") for _ in range(40)]
    assert [r.status_code for r in after] == [200] * 40, [r.text for r in after if r.status_code != 200][:3]
    successes += 40
    assert pg_hub.client().get("/v1/ready").json() == {"status": "ready"}

    runs = team.client.get(f"/v1/connections/{connection_id}/runs", params={"limit": 1000})
    assert runs.status_code == 200, runs.text
    assert sum(r["status"] == "SUCCESS" for r in runs.json()) == successes
    assert pg_hub.engine.audit.dropped == 0


def test_a_restart_between_requests_goes_unnoticed(
    pg_hub: Hub, cluster: PrivateCluster, sandbox: SandboxServer
) -> None:
    team = pg_hub.team("restart")
    connection_id = connect_sandbox(team.client, sandbox)
    with ThreadPoolExecutor(16) as pool:
        before = list(pool.map(lambda _: run(team.client, connection_id, "SANDBOX_WHOAMI"), range(48)))
    assert [r.status_code for r in before] == [200] * 48
    # Every connection the pool holds dies with the server; no request meets one of them.
    cluster.stop()
    cluster.start()
    after = [run(team.client, connection_id, "SANDBOX_WHOAMI") for _ in range(40)]
    assert [r.status_code for r in after] == [200] * 40, [r.text for r in after if r.status_code != 200][:3]
    assert team.client.get("/v1/connections").status_code == 200


def test_the_audit_keeps_a_bounded_backlog(cluster: PrivateCluster, caplog: pytest.LogCaptureFixture) -> None:
    store = Store(Database(open_database(cluster.url)))
    # A batch gathers for a second: every run below is queued before the first write is tried.
    audit = AuditLog(store, linger=1.0, max_pending=5)
    try:
        cluster.stop()
        with caplog.at_level(logging.WARNING, logger="plughub.engine"):
            for index in range(8):
                audit.record(RunRecord("team", "conn", f"ACTION_{index}", "SUCCESS", 200, None, 1.0))
            assert audit.dropped == 3
            assert "the audit queue is full (the database is unavailable); runs dropped so far: 1" in caplog.text
            audit.flush()  # returns once a write failed, rather than waiting for the database
        assert "5 audited runs are kept until it is back" in caplog.text
        cluster.start()
        audit.flush()
        assert [r.action for r in reversed(store.runs.list("conn", 100))] == [f"ACTION_{i}" for i in range(5)]
        assert audit.dropped == 3
    finally:
        audit.close()
        store.close()
