"""The engine tells its observer of each refresh's outcome and each run (the server's metrics).

The embedded engine (the SDK's backend here) is instrumented with the server's `Metrics`, as
`plughub serve` does; refreshes run against the sandbox's real OAuth 2.0 provider.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from plughub.engine import Engine
from plughub.enums import AuthenticationSchema, ResponseStatus
from plughub.modules.model.integration import Integration
from plughub.sandbox import SandboxServer
from plughub.server.metrics import Metrics, exposition
from tests.oauth.conftest import authorize, expire_stored_token, stored_credentials
from tests.oauth.test_refresh import _revoke_at_provider
from tests.server.test_metrics import samples, value

REFRESHES = "plughub_oauth_refreshes_total"


def test_refreshes_and_refused_refreshes_are_counted(engine: Engine, integ: Integration, sb: SandboxServer) -> None:
    metrics = Metrics(CollectorRegistry())
    engine.instrument(observer=metrics)
    tool = authorize(integ, AuthenticationSchema.OAUTH2, port=sb.port)
    expire_stored_token(engine, tool.id)
    assert tool.run("WHOAMI").status is ResponseStatus.SUCCESS
    assert tool.run("WHOAMI").status is ResponseStatus.SUCCESS  # the fresh token: no refresh

    _revoke_at_provider(sb, stored_credentials(engine, tool.id)["refresh_token"])
    expire_stored_token(engine, tool.id)
    refused = tool.run("WHOAMI")
    assert refused.error_code == "connection_expired"

    found = samples(exposition(metrics, engine.connections.counts()).decode())
    assert value(found, REFRESHES, integration="sandbox", outcome="refreshed") == 1
    assert value(found, REFRESHES, integration="sandbox", outcome="expired") == 1
    runs = "plughub_action_runs_total"
    assert value(found, runs, integration="sandbox", action="SANDBOX_WHOAMI", status="SUCCESS") == 2
    assert value(found, runs, integration="sandbox", action="SANDBOX_WHOAMI", status="FAILED") == 1
    assert value(found, "plughub_connections", integration="sandbox", status="expired") == 1
