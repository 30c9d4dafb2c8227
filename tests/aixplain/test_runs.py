"""Action runs through the SDK against a real upstream: answered at once, through polling, and failing."""

from __future__ import annotations

import time
from typing import Any

import pytest

from plughub.engine.store import pending_run_record_id
from plughub.enums import AuthenticationSchema
from plughub.schemas import ConnectRequest
from tests.aixplain.conftest import SLOW, Wire, assert_clean, upstream_definition
from tests.conftest import CANARY_TOKEN
from tests.upstream import Reply, Seen, Upstream

RUNS = """
from aixplain import Aixplain
from aixplain.factories import ModelFactory

CONN = "%(connection)s"
SEND = "WIRE_UPSTREAM_SEND_MESSAGE"

# v1: ConnectionTool.run posts to /api/v2/execute, run_async to /api/v1/execute.
tool = ModelFactory.get(CONN)
RESULTS["v1_actions"] = [a.code for a in tool.actions]
RESULTS["v1_send"] = response(tool.run(SEND, {"channel": "C1", "text": "v1 at once"}))
RESULTS["v1_slow"] = response(tool.run("WIRE_UPSTREAM_SLOW", {}))
started = tool.run_async({"action": SEND, "data": {"channel": "C1", "text": "v1 async"}})
RESULTS["v1_started"] = response(started)
RESULTS["v1_polled"] = response(tool.sync_poll(started.url))
RESULTS["v1_broken"] = response(tool.run("WIRE_UPSTREAM_BROKEN", {}))
RESULTS["v1_invalid"] = response(tool.run(SEND, {"channel": "C1"}))
RESULTS["v1_unknown"] = response(tool.run("NOPE", {}))
broken = tool.run_async({"action": "WIRE_UPSTREAM_BROKEN", "data": {}})
RESULTS["v1_broken_polled"] = response(tool.sync_poll(broken.url))

# v2, with the run URL of each version: /api/v2/execute answers at once unless the run is slow.
base = "%(url)s"
aix1 = Aixplain(model_url=base + "/api/v1/execute")
aix2 = Aixplain(model_url=base + "/api/v2/execute")

def v2(result):
    return {"status": result.status, "completed": result.completed, "data": result.data, "url": result.url}

tool2 = aix2.Tool.get(CONN)
RESULTS["v2_send"] = v2(tool2.run(action=SEND, data={"channel": "C1", "text": "v2 at once"}))
RESULTS["v2_slow"] = v2(tool2.run(action="WIRE_UPSTREAM_SLOW", data={}))
RESULTS["v2_on_v1"] = v2(aix1.Tool.get(CONN).run(action=SEND, data={"channel": "C1", "text": "v2 on v1"}))
tool1 = aix1.Tool.get(CONN)
started = tool1.run_async(action=SEND, data={"channel": "C1", "text": "v2 async"})
RESULTS["v2_started"] = v2(started)
RESULTS["v2_polled"] = v2(tool1.sync_poll(started.url))
record("v2_broken", lambda: tool2.run(action="WIRE_UPSTREAM_BROKEN", data={}))
record("v2_broken_polled", lambda: aix1.Tool.get(CONN).run(action="WIRE_UPSTREAM_BROKEN", data={}))
record("v2_invalid", lambda: tool2.run(action=SEND, data={"channel": "C1"}))
record("v2_unknown", lambda: tool2.run(action="NOPE", data={}))
"""


def _send(seen: Seen) -> Reply:
    return Reply(201, {"received": seen.json()})


@pytest.fixture
def connection(wire: Wire, upstream: Upstream) -> str:
    """Team A's bearer-token connection to the recording upstream."""
    upstream.route("POST", "/channels/C1/messages", _send)
    upstream.route("GET", "/slow", Reply(200, {"report": "done"}, delay=SLOW))
    upstream.route("GET", "/broken", Reply(500, {"error": "supplier exploded"}))
    wire.engine.integrations.create(upstream_definition(upstream), team=wire.team_a.id)
    request = ConnectRequest(
        integration_id="wire-upstream", scheme=AuthenticationSchema.BEARER_TOKEN, data={"token": CANARY_TOKEN}
    )
    return wire.engine.connections.create(request, team=wire.team_a.id).id


def _success(answer: dict[str, Any], data: Any) -> None:
    assert answer["status"] == "SUCCESS", answer
    assert answer["completed"] is True
    assert answer["data"] == data


def test_runs_at_once_through_polling_and_failing(wire: Wire, upstream: Upstream, connection: str) -> None:
    results, output = wire.sdk(RUNS % {"connection": connection, "url": wire.url})
    poll_prefix = f"{wire.url}/api/v1/data/req_"

    assert results["v1_actions"] == ["WIRE_UPSTREAM_SEND_MESSAGE", "WIRE_UPSTREAM_SLOW", "WIRE_UPSTREAM_BROKEN"]
    _success(results["v1_send"], {"received": {"text": "v1 at once"}})
    _success(results["v1_slow"], {"report": "done"})  # past the sync wait: answered through polling
    started = results["v1_started"]
    assert started["status"] == "IN_PROGRESS" and started["completed"] is False
    assert started["url"].startswith(poll_prefix)
    _success(results["v1_polled"], {"received": {"text": "v1 async"}})

    broken = results["v1_broken"]
    assert broken["status"] == "FAILED" and broken["completed"] is True
    assert broken["error_message"] == (
        "Wire Upstream WIRE_UPSTREAM_BROKEN: the service answered 500 Internal Server Error: "
        '{"error": "supplier exploded"}'
    )
    assert broken["details"]["status_code"] == 500
    assert results["v1_broken_polled"]["status"] == "FAILED"
    assert results["v1_broken_polled"]["error_message"] == broken["error_message"]
    invalid = results["v1_invalid"]
    assert invalid["status"] == "FAILED"
    assert invalid["error_message"] == "WIRE_UPSTREAM_SEND_MESSAGE needs input 'text'."
    unknown = results["v1_unknown"]
    assert unknown["status"] == "FAILED"
    assert unknown["error_message"].startswith("Wire Upstream has no action 'NOPE'. Its actions: WIRE_UPSTREAM_SEND")

    # v2 merges the inputs' defaults (LIST_INPUTS `defaultValue`) into what it sends.
    _success(results["v2_send"], {"received": {"text": "v2 at once", "priority": 1}})
    _success(results["v2_slow"], {"report": "done"})
    _success(results["v2_on_v1"], {"received": {"text": "v2 on v1", "priority": 1}})
    assert results["v2_started"]["status"] == "IN_PROGRESS"
    assert results["v2_started"]["url"].startswith(poll_prefix)
    _success(results["v2_polled"], {"received": {"text": "v2 async", "priority": 1}})
    supplier = f"Operation failed: {broken['error_message']}"
    assert results["v2_broken"] == {"error": "APIError", "message": supplier}
    assert results["v2_broken_polled"] == {"error": "APIError", "message": supplier}
    assert results["v2_invalid"] == {
        "error": "APIError",
        "message": "Operation failed: WIRE_UPSTREAM_SEND_MESSAGE needs input 'text'.",
    }
    # v2 looks the action up (LIST_INPUTS) before it posts anything.
    assert results["v2_unknown"] == {
        "error": "ValueError",
        "message": "Action 'NOPE' not found or has no input parameters defined.",
    }

    sent = [s for s in upstream.seen if s.path == "/channels/C1/messages"]
    assert sorted(s.json()["text"] for s in sent) == ["v1 async", "v1 at once", "v2 async", "v2 at once", "v2 on v1"]
    assert {s.header("Authorization") for s in upstream.seen} == {f"Bearer {CANARY_TOKEN}"}
    # Same engine, same rules: every run is audited, the failed ones with the upstream's status.
    wire.engine.audit.flush()
    audit = wire.engine.store.runs.list(connection, limit=100)
    assert sum(r.action == "WIRE_UPSTREAM_SEND_MESSAGE" and r.status == "SUCCESS" for r in audit) == 5
    assert {r.upstream_status for r in audit if r.action == "WIRE_UPSTREAM_BROKEN"} == {500}
    assert_clean(output)


def test_an_outcome_is_sealed_and_only_its_team_can_poll_it(wire: Wire, connection: str) -> None:
    with wire.http(wire.team_a.key) as a, wire.http(wire.team_b.key) as b:
        started = a.post(
            f"/api/v1/execute/{connection}",
            json={"action": "WIRE_UPSTREAM_SEND_MESSAGE", "data": {"channel": "C1", "text": "secret plans"}},
        )
        assert started.status_code == 200, started.text
        body = started.json()
        assert body["status"] == "IN_PROGRESS" and body["completed"] is False
        poll = body["data"].removeprefix(wire.url)
        assert poll == f"/api/v1/data/{body['requestId']}"
        outcome = a.get(poll).json()
        while outcome["status"] == "IN_PROGRESS":
            assert outcome == {"status": "IN_PROGRESS", "completed": False, "requestId": body["requestId"]}
            time.sleep(0.05)
            outcome = a.get(poll).json()
        assert outcome["status"] == "SUCCESS" and outcome["completed"] is True
        assert outcome["data"]["received"]["text"] == "secret plans"
        assert outcome["requestId"] == body["requestId"]

        # Another team's poll of the same id is a 404, in the aiXplain shape.
        other = b.get(poll)
        assert other.status_code == 404
        assert other.json() == {
            "status": "FAILED",
            "completed": True,
            "statusCode": 404,
            "message": f"No run with request id '{body['requestId']}' for this API key's team; outcomes are kept "
            "for 60 minutes after a run starts. Run the action again.",
            "error": f"run_not_found: No run with request id '{body['requestId']}' for this API key's team; "
            "outcomes are kept for 60 minutes after a run starts. Run the action again.",
            "error_message": f"No run with request id '{body['requestId']}' for this API key's team; outcomes are "
            "kept for 60 minutes after a run starts. Run the action again.",
        }
        # The outcome is user data: sealed in the database, like credentials.
        sealed = wire.engine.store.credentials.get(pending_run_record_id(body["requestId"]))
        assert sealed is not None and b"secret plans" not in sealed
        # A key rotation re-seals it with the other secrets; it still opens.
        assert wire.engine.credentials.rotate() >= 2
        resealed = wire.engine.store.credentials.get(pending_run_record_id(body["requestId"]))
        assert resealed is not None and resealed != sealed
        assert a.get(poll).json() == outcome
        # Deleting the connection deletes its runs' outcomes.
        assert a.delete(f"/sdk/models/{connection}").status_code == 200
        assert wire.engine.store.credentials.get(pending_run_record_id(body["requestId"])) is None
        assert a.get(poll).status_code == 404
