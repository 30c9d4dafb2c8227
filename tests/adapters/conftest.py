"""A tracker API on 127.0.0.1 (tests/upstream.py) and a plughub connection to it, scoped to two actions."""

from __future__ import annotations

import json
from typing import Any

import pytest

from plughub import AuthenticationSchema, ConnectionTool, IntegrationFactory, ModelFactory
from tests.conftest import CANARIES, CANARY_API_KEY
from tests.upstream import Reply, Seen, Upstream

CREATE, GET, DELETE = "TRACKER_CREATE_ISSUE", "TRACKER_GET_ISSUE", "TRACKER_DELETE_REPO"
CREATE_ARGS = {"repo": "acme", "title": "Login fails", "priority": "high"}


def tracker(base_url: str) -> dict[str, Any]:
    return {
        "id": "tracker",
        "display_name": "Tracker",
        "base_url": base_url,
        "auth": [{"mode": "API_KEY", "apply": {"header": "X-Api-Key"}}],
        "actions": {
            CREATE: {
                "display_name": "Create an issue",
                "description": "Open a new issue in a repository.",
                "method": "POST",
                "path": "/repos/${inputs.repo}/issues",
                "inputs": {
                    "repo": {"type": "string", "in": "path", "required": True, "description": "Repository name"},
                    "title": {"type": "string", "in": "body", "required": True, "description": "One-line summary"},
                    "priority": {"type": "string", "in": "body", "enum": ["low", "high"], "description": "Urgency"},
                },
            },
            GET: {
                "display_name": "Get an issue",
                "description": "Read one issue by its number.",
                "method": "GET",
                "path": "/issues/${inputs.number}",
                "inputs": {"number": {"type": "integer", "in": "path", "required": True}},
            },
            DELETE: {
                "display_name": "Delete a repository",
                "method": "DELETE",
                "path": "/repos/${inputs.repo}",
                "inputs": {"repo": {"type": "string", "in": "path", "required": True}},
            },
        },
    }


def _created(seen: Seen) -> Reply:
    return Reply(201, {"number": 7, "title": seen.json()["title"], "state": "open"})


def connect(upstream: Upstream) -> ConnectionTool:
    """Register the tracker, connect to it with an API key, and scope the connection to CREATE and GET."""
    upstream.route("POST", "/repos/acme/issues", _created)
    integration = IntegrationFactory.create(tracker(upstream.url))
    response = integration.connect(AuthenticationSchema.API_KEY, data={"api_key": CANARY_API_KEY})
    tool = ModelFactory.get(response.data["id"])
    assert isinstance(tool, ConnectionTool)
    tool.action_scope = [a for a in tool.actions if a.code in (CREATE, GET)]
    return tool


@pytest.fixture
def conn(backend: Any, upstream: Upstream) -> ConnectionTool:
    """The tracker connection on the embedded engine; issue 99 does not exist (404)."""
    return connect(upstream)


@pytest.fixture
def any_conn(any_backend: Any, upstream: Upstream) -> ConnectionTool:
    """The tracker connection on the embedded engine, or through a real `plughub serve`."""
    return connect(upstream)


def assert_created_upstream(upstream: Upstream) -> None:
    """The upstream saw the agent's call, with plughub's credentials."""
    posts = [s for s in upstream.seen if s.method == "POST"]
    assert [s.path for s in posts] == ["/repos/acme/issues"]
    assert posts[0].json() == {"title": "Login fails", "priority": "high"}
    assert posts[0].header("X-Api-Key") == CANARY_API_KEY
    assert [s.path for s in upstream.seen if s.method == "GET"] == ["/issues/99"]


def assert_answers(texts: list[str]) -> None:
    """The model read the created issue, and the 404 as an error it can act on; no secret reached it."""
    created, missing = texts
    assert json.loads(created) == {"number": 7, "title": "Login fails", "state": "open"}
    error = json.loads(missing)
    assert error["error"] == "upstream_status" and "404" in error["message"]
    assert not any(canary in text for text in texts for canary in CANARIES)
