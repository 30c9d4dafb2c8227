"""Crafted inputs through the SDK, on both backends: the same `InvalidInput`, and nothing sent or stored."""

from __future__ import annotations

from typing import Any

import pytest

from plughub import AuthenticationSchema, FunctionType, IntegrationFactory, ModelFactory, ResponseStatus
from plughub.exceptions import InvalidInput
from plughub.modules.model.connection import ConnectionTool
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

pytestmark = pytest.mark.usefixtures("any_backend")


def _stored() -> int:
    return int(ModelFactory.list(function_type=FunctionType.CONNECTION)["total"])


@pytest.fixture
def tool(upstream: Upstream) -> ConnectionTool:
    route(upstream)
    repos = IntegrationFactory.create(DEFINITION)
    response = repos.connect(AuthenticationSchema.BEARER_TOKEN, data={"token": CANARY_TOKEN, "base_url": upstream.url})
    connected = ModelFactory.get(response.data["id"])
    assert isinstance(connected, ConnectionTool)
    return connected


@pytest.mark.parametrize("owner", CLIMBING_PATH_VALUES)
def test_a_path_input_cannot_reach_another_endpoint(tool: ConnectionTool, upstream: Upstream, owner: str) -> None:
    with pytest.raises(InvalidInput, match=rf"input 'owner' cannot be '{owner}': it goes in the URL path"):
        tool.run(GET, {"owner": owner, "repo": "user"})
    assert upstream.seen == []


@pytest.mark.parametrize(("owner", "path"), LITERAL_PATH_VALUES)
def test_dots_and_slashes_inside_a_path_input_stay_in_its_segment(
    tool: ConnectionTool, upstream: Upstream, owner: str, path: str
) -> None:
    response = tool.run(GET, {"owner": owner, "repo": "user"})
    assert response.status is ResponseStatus.FAILED and response.error_code == "upstream_status"
    assert isinstance(response.details, dict) and response.details["status_code"] == 404  # no such repository
    assert [s.path for s in upstream.seen] == [path]


@pytest.mark.parametrize(("action", "inputs", "name"), UNSENDABLE_INPUTS, ids=UNSENDABLE_IDS)
def test_inputs_that_cannot_be_sent_are_invalid_input(
    tool: ConnectionTool, upstream: Upstream, action: str, inputs: dict[str, Any], name: str
) -> None:
    with pytest.raises(InvalidInput, match=rf"{action}: input '{name}'"):
        tool.run(action, inputs)
    assert upstream.seen == []


@pytest.mark.parametrize("host", INVALID_HOSTS)
def test_connection_config_making_an_invalid_host_is_refused_at_connect(host: str) -> None:
    repos = IntegrationFactory.create(DEFINITION)
    with pytest.raises(InvalidInput, match=rf"these settings make the base URL 'http://{host}'.*Check 'host'"):
        repos.connect(AuthenticationSchema.NO_AUTH, data={"host": host})
    assert _stored() == 0
