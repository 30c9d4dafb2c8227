"""Property-based API testing with schemathesis: no input makes the live server answer 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from plughub.sandbox import SandboxServer
from tests.server.conftest import Hub, Tenant, connect_sandbox

schemathesis = pytest.importorskip("schemathesis")
hypothesis = pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, Phase, given  # noqa: E402
from hypothesis import settings as hsettings  # noqa: E402
from hypothesis.configuration import set_hypothesis_home_dir  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

MAX_EXAMPLES = 25
# Nothing is pinned any more: a huge page_number is refused with 422 (tested in test_bad_input.py).
PINNED_QUERY: dict[tuple[str, str], dict[str, int]] = {}
FUZZ = hsettings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(autouse=True)
def hypothesis_home(tmp_path: Path) -> Iterator[None]:
    """Keep Hypothesis's caches out of the working directory."""
    set_hypothesis_home_dir(tmp_path / "hypothesis")
    yield
    set_hypothesis_home_dir(None)


def _operations(hub: Hub) -> list[Any]:
    schema = schemathesis.openapi.from_url(f"{hub.url}/openapi.json", timeout=10)
    operations = []
    for result in schema.get_all_operations():
        operations.append(result.ok())
    return operations


def _fuzz(operation: Any, mode: Any, url: str, headers: dict[str, str], **fixed: Any) -> int:
    calls = 0
    pinned = PINNED_QUERY.get((operation.method.upper(), operation.path))
    if pinned:
        fixed["query"] = pinned

    @FUZZ
    @given(case=operation.as_strategy(mode, **fixed))
    def check(case: Any) -> None:
        nonlocal calls
        calls += 1
        response = case.call(base_url=url, headers=headers, timeout=20)
        case.validate_response(response, checks=[not_a_server_error])
        assert response.status_code < 500, (case.method, case.formatted_path, response.status_code, response.text)
        if response.status_code >= 400 and "json" in response.headers.get("content-type", ""):
            body = response.json()
            assert set(body) == {"error", "message", "details"}, body

    check()
    return calls


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_no_operation_answers_a_server_error(hub: Hub, team_a: Tenant, sandbox: SandboxServer) -> None:
    headers = {"Authorization": f"Bearer {team_a.key}"}
    real = connect_sandbox(team_a.client, sandbox)
    operations = _operations(hub)
    assert len(operations) >= 15
    total = negative = 0
    for operation in operations:
        total += _fuzz(operation, GenerationMode.POSITIVE, hub.url, headers)
        try:
            total += _fuzz(operation, GenerationMode.NEGATIVE, hub.url, headers)
            negative += 1
        except Unsatisfiable:
            pass  # nothing about this operation can be made invalid (no body, free-form strings)
        params = {p.name for p in operation.path_parameters}
        if "connection_id" in params and operation.method.upper() != "DELETE":
            fixed = {"connection_id": real}
            if "action" in params:
                fixed["action"] = "SANDBOX_CREATE_NOTE"
            total += _fuzz(operation, GenerationMode.POSITIVE, hub.url, headers, path_parameters=fixed)
    assert total > len(operations) * 2
    assert negative >= 5
    # The real connection survived, and the server still answers.
    assert team_a.client.get(f"/v1/connections/{real}").status_code == 200
