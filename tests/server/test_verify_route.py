"""`POST /v1/integrations/{id}/verify`: documents inline or by URL (fetched through the guard), never a server path."""

from __future__ import annotations

from typing import Any

from tests.openapi.docs import oas3, op
from tests.server.conftest import Hub, HubFactory, Tenant, assert_error
from tests.upstream import Reply

DOCUMENT = oas3({"/notes": {"get": op()}}, servers=[{"url": "https://notes.example.com/v1"}])
DEFINITION: dict[str, Any] = {
    "id": "notes-route",
    "display_name": "Notes",
    "base_url": "https://notes.example.com/v1",
    "auth": [{"mode": "NO_AUTH"}],
    "actions": {
        "NOTES_ROUTE_LIST": {"display_name": "List", "path": "/notes"},
        "NOTES_ROUTE_GONE": {"display_name": "Gone", "path": "/gone"},
    },
}


def test_verify_inline_and_by_url(team_a: Tenant, upstream: Any) -> None:
    assert team_a.client.post("/v1/integrations", json=DEFINITION).status_code == 201
    response = team_a.client.post(
        "/v1/integrations/notes-route/verify", json={"documents": [{"name": "notes.yaml", "document": DOCUMENT}]}
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["documents"] == ["notes.yaml"] and report["actions"] == 2
    assert [(f["action"], f["kind"]) for f in report["findings"]] == [("NOTES_ROUTE_GONE", "route_unknown")]
    upstream.route("GET", "/specs/notes.json", lambda seen: Reply(200, DOCUMENT))
    by_url = team_a.client.post(
        "/v1/integrations/notes-route/verify", json={"documents": [{"url": upstream.url + "/specs/notes.json"}]}
    )
    assert by_url.status_code == 200, by_url.text
    assert by_url.json()["documents"] == ["notes.json"]
    assert by_url.json()["findings"] == [
        dict(f, message=f["message"].replace("notes.yaml", "notes.json")) for f in report["findings"]
    ]


def test_bad_verify_bodies_are_refused(team_a: Tenant, team_b: Tenant) -> None:
    assert team_a.client.post("/v1/integrations", json=DEFINITION).status_code == 201
    route = "/v1/integrations/notes-route/verify"
    for url in ("/etc/passwd", "master.key", "file:///etc/passwd"):
        body = assert_error(team_a.client.post(route, json={"documents": [{"url": url}]}), 422, "invalid_input")
        assert "documents[0].url must be an http:// or https:// address" in body["message"]
    both = {"documents": [{"document": DOCUMENT, "url": "https://x.example/a.json"}]}
    assert (
        "send the OpenAPI document"
        in assert_error(team_a.client.post(route, json=both), 422, "invalid_input")["message"]
    )
    assert_error(team_a.client.post(route, json={"documents": []}), 422, "invalid_input")
    assert_error(team_a.client.post(route, json={"documents": [{"document": {"info": {}}}]}), 422, "invalid_definition")
    # Another team's integration is not there.
    assert_error(team_b.client.post(route, json={"documents": [{"document": DOCUMENT}]}), 404, "integration_not_found")


def test_a_guarded_server_does_not_fetch_a_private_address(make_hub: HubFactory, upstream: Any) -> None:
    hub: Hub = make_hub(allow=None)
    team = hub.team("team-g")
    assert team.client.post("/v1/integrations", json=DEFINITION).status_code == 201
    upstream.route("GET", "/specs/notes.json", lambda seen: Reply(200, DOCUMENT))
    response = team.client.post(
        "/v1/integrations/notes-route/verify", json={"documents": [{"url": upstream.url + "/specs/notes.json"}]}
    )
    body = assert_error(response, 422, "invalid_definition")
    assert "refused by plughub's network guard" in body["message"]
    assert upstream.seen == []
