"""Inputs cannot leave their place in the request: a path value stays one segment, a header one line.

Each run goes to a real upstream on 127.0.0.1 that records what it receives; a refused input must
reach nothing, on the synchronous path (`run_action`) and the server's (`run_action_async`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from plughub.engine import Engine
from plughub.engine.store import ConnectionRecord
from plughub.enums import AuthenticationSchema, ResponseStatus
from plughub.exceptions import InvalidCredentials, InvalidInput
from plughub.schemas import ActionResult, ConnectRequest
from tests.conftest import CANARY_TOKEN
from tests.repos_api import (
    CLIMBING_PATH_VALUES,
    DEFINITION,
    GET,
    INVALID_HOSTS,
    LITERAL_PATH_VALUES,
    UNSENDABLE_IDS,
    UNSENDABLE_INPUTS,
    route,
)
from tests.upstream import Upstream

pytestmark = pytest.mark.usefixtures("loopback_only")

Run = Callable[[Engine, str, str, dict[str, Any]], ActionResult]


def _sync(engine: Engine, connection_id: str, action: str, inputs: dict[str, Any]) -> ActionResult:
    return engine.actions.run(connection_id, action, inputs)


def _async(engine: Engine, connection_id: str, action: str, inputs: dict[str, Any]) -> ActionResult:
    async def go() -> ActionResult:
        try:
            return await engine.actions.run_async(connection_id, action, inputs)
        finally:
            await engine.http.aclose()

    return asyncio.run(go())


@pytest.fixture(params=[_sync, _async], ids=["sync", "async"])
def run(request: pytest.FixtureRequest) -> Run:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def repos(engine: Engine, upstream: Upstream) -> str:
    """A connection of the Acme Repos API to the upstream; its id."""
    route(upstream)
    engine.integrations.create(DEFINITION)
    request = ConnectRequest(
        integration_id="acme-repos",
        scheme=AuthenticationSchema.BEARER_TOKEN,
        data={"token": CANARY_TOKEN, "base_url": upstream.url},
    )
    return engine.connections.create(request).id


@pytest.mark.parametrize("owner", CLIMBING_PATH_VALUES)
def test_a_path_value_cannot_climb_out_of_its_template(
    engine: Engine, repos: str, upstream: Upstream, run: Run, owner: str
) -> None:
    with pytest.raises(InvalidInput, match=rf"{GET}: input 'owner' cannot be '{owner}'") as raised:
        run(engine, repos, GET, {"owner": owner, "repo": "user"})
    assert raised.value.details == {"input": "owner"}
    assert upstream.seen == []


@pytest.mark.parametrize(("owner", "path"), LITERAL_PATH_VALUES)
def test_dots_and_slashes_inside_a_value_stay_one_literal_segment(
    engine: Engine, repos: str, upstream: Upstream, run: Run, owner: str, path: str
) -> None:
    result = run(engine, repos, GET, {"owner": owner, "repo": "user"})
    assert result.status_code == 404  # no such repository: the service saw the literal name
    assert [s.path for s in upstream.seen] == [path]


@pytest.mark.parametrize(("action", "inputs", "name"), UNSENDABLE_INPUTS, ids=UNSENDABLE_IDS)
def test_an_input_that_cannot_be_sent_is_invalid_input_and_nothing_is_sent(
    engine: Engine, repos: str, upstream: Upstream, run: Run, action: str, inputs: dict[str, Any], name: str
) -> None:
    with pytest.raises(InvalidInput, match=rf"{action}: input '{name}'") as raised:
        run(engine, repos, action, inputs)
    assert raised.value.details == {"input": name}
    assert upstream.seen == []


@pytest.mark.parametrize("host", INVALID_HOSTS)
def test_connection_config_that_makes_an_invalid_host_is_refused_at_connect(engine: Engine, host: str) -> None:
    engine.integrations.create(DEFINITION)
    request = ConnectRequest(integration_id="acme-repos", scheme=AuthenticationSchema.NO_AUTH, data={"host": host})
    with pytest.raises(InvalidInput, match=rf"Acme Repos: these settings make the base URL 'http://{host}'") as raised:
        engine.connections.create(request)
    assert "Check 'host'; nothing was stored." in raised.value.message
    assert engine.connections.list().total == 0


@pytest.mark.parametrize("host", INVALID_HOSTS)
def test_a_stored_connection_with_an_invalid_host_is_invalid_input_at_run_time(
    engine: Engine, run: Run, host: str
) -> None:
    # Stored by an earlier release, which did not check the rendered base URL at connect.
    engine.integrations.create(DEFINITION)
    record = ConnectionRecord(
        id="stored-bad-host", integration_id="acme-repos", name="Old", scheme="NO_AUTH", status="active"
    )
    engine.store.connections.insert(ConnectionRecord(**{**record.__dict__, "config": {"host": host}}), None)
    with pytest.raises(InvalidInput, match=rf"{GET}: the connection's base URL 'http://{host}' is not valid"):
        run(engine, "stored-bad-host", GET, {"owner": "o", "repo": "r"})


def test_a_token_that_cannot_be_a_header_is_refused_at_connect(engine: Engine) -> None:
    engine.integrations.create(DEFINITION)
    for token in ("t\r\nX-Injected: 1", "\u2603", "\ud800"):
        request = ConnectRequest(
            integration_id="acme-repos", scheme=AuthenticationSchema.BEARER_TOKEN, data={"token": token}
        )
        with pytest.raises(InvalidInput, match="'token'"):
            engine.connections.create(request)
    assert engine.connections.list().total == 0


def test_a_good_request_still_goes_out(engine: Engine, repos: str, upstream: Upstream, run: Run) -> None:
    result = run(engine, repos, GET, {"owner": "o", "repo": "r"})
    assert result.status is ResponseStatus.SUCCESS, result
    assert upstream.seen[0].path == "/repos/o/r"
    assert upstream.seen[0].header("Authorization") == f"Bearer {CANARY_TOKEN}"


@pytest.mark.parametrize("token", ["tok\r\nX-Injected: 1", "t\u00f6ken"], ids=["line-break", "non-ascii"])
def test_stored_credentials_that_cannot_be_a_header_fail_clearly_at_run_time(
    engine: Engine, repos: str, upstream: Upstream, run: Run, token: str
) -> None:
    # Stored before connect checked tokens (an older plughub): the run names the problem, sends nothing.
    from tests.oauth.conftest import rewrite_credentials

    rewrite_credentials(engine, repos, token=token)
    with pytest.raises(InvalidCredentials, match="cannot go in the HTTP header Authorization") as raised:
        run(engine, repos, GET, {"owner": "octo", "repo": "app"})
    assert raised.value.details == {"connection_id": repos, "headers": ["Authorization"]}
    assert token not in str(raised.value)
    assert upstream.seen == []
