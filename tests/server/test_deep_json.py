"""JSON bodies nested too deeply: a 422 `invalid_input` on the run route and on the other routes."""

from __future__ import annotations

import json

import pytest

from plughub.server.limits import MAX_JSON_DEPTH, nested_deeper_than
from tests.server.conftest import Hub, Tenant, assert_error
from tests.upstream import Reply, Upstream


def _nested(depth: int) -> bytes:
    """JSON text `depth` levels deep: objects and arrays in turn, an object outermost.

    Written out rather than dumped: Python's own encoder (and the test's stack) stops near 1,000.
    """
    opening = b"".join(b'{"down": ' if level % 2 == 0 else b"[" for level in range(depth))
    closing = b"".join(b"}" if level % 2 == 0 else b"]" for level in reversed(range(depth)))
    return opening + b'"bottom"' + closing


def _echo(team: Tenant, upstream: Upstream) -> str:
    """A team integration whose ECHO_DATA action posts `data` (any object) to the upstream; its connection id."""
    upstream.route("POST", "/echo", lambda seen: Reply(200, {"depth_seen": True}))
    definition = {
        "id": "echo",
        "display_name": "Echo",
        "base_url": upstream.url,
        "auth": [{"mode": "NO_AUTH"}],
        "actions": {
            "ECHO_DATA": {
                "display_name": "Echo",
                "method": "POST",
                "path": "/echo",
                "inputs": {"data": {"type": "object", "in": "body"}},
            }
        },
    }
    assert team.client.post("/v1/integrations", json=definition).status_code == 201
    connected = team.client.post("/v1/connections", json={"integration_id": "echo", "scheme": "NO_AUTH"})
    assert connected.status_code == 201, connected.text
    return str(connected.json()["id"])


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 990, 5_000, 100_000])
def test_a_deep_body_is_invalid_input_on_the_run_route_and_elsewhere(
    hub: Hub, team_a: Tenant, upstream: Upstream, depth: int
) -> None:
    connection_id = _echo(team_a, upstream)
    # The run route (a Starlette route ahead of FastAPI's), and FastAPI's routes.
    bodies = {
        f"/v1/connections/{connection_id}/actions/ECHO_DATA/run": b'{"inputs": {"data": ' + _nested(depth - 2) + b"}}",
        "/v1/connections": b'{"integration_id": "echo", "scheme": "NO_AUTH", "data": ' + _nested(depth - 1) + b"}",
        "/v1/integrations": _nested(depth),
    }
    for path, text in bodies.items():
        assert nested_deeper_than(text, MAX_JSON_DEPTH)
        for content_type in ("application/json", "application/merge-patch+json", None):
            headers = {"Content-Type": content_type} if content_type else {}
            problem = assert_error(team_a.client.post(path, content=text, headers=headers), 422, "invalid_input")
            assert problem["message"] == (
                f"the JSON body is nested more than {MAX_JSON_DEPTH} levels deep; send a flatter document"
            )
            assert problem["details"] == {"max_depth": MAX_JSON_DEPTH}
    assert upstream.seen == []  # nothing ran
    assert team_a.client.get(f"/v1/connections/{connection_id}/runs").json() == []
    assert team_a.client.get("/v1/connections").json()["total"] == 1


def test_a_body_as_deep_as_allowed_goes_through(hub: Hub, team_a: Tenant, upstream: Upstream) -> None:
    connection_id = _echo(team_a, upstream)
    data = _nested(MAX_JSON_DEPTH - 2)
    body = b'{"inputs": {"data": ' + data + b"}}"
    assert not nested_deeper_than(body, MAX_JSON_DEPTH)
    path = f"/v1/connections/{connection_id}/actions/ECHO_DATA/run"
    answered = team_a.client.post(path, content=body, headers={"Content-Type": "application/json"})
    assert answered.status_code == 200, answered.text
    assert answered.json()["status"] == "SUCCESS"
    assert upstream.seen[-1].json() == {"data": json.loads(data)}
    # Brackets inside strings are text, whatever their number.
    flat = {"inputs": {"data": {"text": "[{" * 10_000 + '\\"[' * 100}}}
    assert team_a.client.post(path, json=flat).json()["status"] == "SUCCESS"
    # As deep as allowed where a string is expected: the route's own refusal, not a server error.
    deep = b'{"id": "deep", "display_name": ' + _nested(MAX_JSON_DEPTH - 1) + b"}"
    refused = team_a.client.post("/v1/integrations", content=deep, headers={"Content-Type": "application/json"})
    assert_error(refused, 422, "invalid_definition")


def test_a_body_of_another_type_is_not_read_as_json(team_a: Tenant) -> None:
    text = _nested(MAX_JSON_DEPTH + 10)
    answered = team_a.client.post("/v1/connections", content=text, headers={"Content-Type": "text/plain"})
    problem = assert_error(answered, 422, "invalid_input")
    assert "nested" not in problem["message"]  # FastAPI's own refusal of a body that is not JSON


def test_depth_counts_brackets_outside_strings_only() -> None:
    assert not nested_deeper_than(b"[" * MAX_JSON_DEPTH, MAX_JSON_DEPTH)
    assert nested_deeper_than(b"[" * (MAX_JSON_DEPTH + 1), MAX_JSON_DEPTH)
    assert not nested_deeper_than(json.dumps(["[" * 1_000, {"a": "]" * 3}]).encode(), 2)
    assert not nested_deeper_than(json.dumps([{"a": i} for i in range(1_000)]).encode(), 2)
    assert nested_deeper_than(json.dumps(["\\", [[['\\"[']]]]).encode(), 3)
