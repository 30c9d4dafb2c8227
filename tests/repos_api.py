"""A small user-defined API with path, query, header and body inputs, and the crafted inputs it must refuse.

Connections point it at the test's `upstream` (a real server on 127.0.0.1), which records what
reaches it: for every input below, nothing may.
"""

from __future__ import annotations

from typing import Any

from tests.upstream import Reply, Upstream

DEFINITION: dict[str, Any] = {
    "id": "acme-repos",
    "display_name": "Acme Repos",
    "description": "Repositories of a code host.",
    "base_url": "http://${connection_config.host}",
    "connection_config": {"host": {"type": "string", "default": "repos.acme.example"}},
    "auth": [{"mode": "BEARER_TOKEN"}, {"mode": "NO_AUTH"}],
    "actions": {
        "ACME_REPOS_GET_REPOSITORY": {
            "display_name": "Get repository",
            "method": "GET",
            "path": "/repos/${inputs.owner}/${inputs.repo}",
            "inputs": {"owner": {"type": "string", "required": True}, "repo": {"type": "string", "required": True}},
        },
        "ACME_REPOS_SEARCH": {
            "display_name": "Search",
            "method": "GET",
            "path": "/search",
            "inputs": {
                "q": {"type": "string", "required": True},
                "trace": {"type": "string", "in": "header", "alias": "X-Trace"},
            },
        },
        "ACME_REPOS_CREATE_REPOSITORY": {
            "display_name": "Create repository",
            "method": "POST",
            "path": "/repos",
            "inputs": {"name": {"type": "string", "required": True}},
        },
    },
}
GET = "ACME_REPOS_GET_REPOSITORY"

# `owner` values that would make `/repos/${owner}/user` reach another endpoint (`/user`, `/repos/user`).
CLIMBING_PATH_VALUES = ["..", ".", ""]
# Values that must stay one literal segment: (value, the path the service receives).
LITERAL_PATH_VALUES = [("%2e%2e", "/repos/%252e%252e/user"), ("a/../..", "/repos/a%2F..%2F../user")]

# (action, inputs, the input named in the error): each is refused before anything is sent.
UNSENDABLE_INPUTS: list[tuple[str, dict[str, Any], str]] = [
    ("ACME_REPOS_SEARCH", {"q": "x", "trace": "v\r\nX-Injected: 1"}, "trace"),
    ("ACME_REPOS_SEARCH", {"q": "x", "trace": "v\nX-Injected: 1"}, "trace"),
    ("ACME_REPOS_SEARCH", {"q": "x", "trace": "a\x00b"}, "trace"),
    ("ACME_REPOS_SEARCH", {"q": "x", "trace": "\u2603"}, "trace"),
    (GET, {"owner": "o" * 100_000, "repo": "r"}, "owner"),
    (GET, {"owner": "\ud800", "repo": "r"}, "owner"),
    ("ACME_REPOS_SEARCH", {"q": "\ud800"}, "q"),
    ("ACME_REPOS_SEARCH", {"q": "x", "trace": "\ud800"}, "trace"),
    ("ACME_REPOS_CREATE_REPOSITORY", {"name": "\ud800"}, "name"),
]
UNSENDABLE_IDS = ["header-crlf", "header-lf", "header-nul", "header-non-latin1", "path-100kb"] + [
    f"surrogate-{where}" for where in ("path", "query", "header", "body")
]

# `connection_config` values that make no valid host of `http://${connection_config.host}`.
INVALID_HOSTS = ["0177.0.0.1", "256.1.1.1", "xn--"]


def route(upstream: Upstream) -> None:
    """Answers for the endpoints a climbing path would reach, so that a request to them would succeed."""
    for path in ("/user", "/repos/user", "/repos/o/r"):
        upstream.route("GET", path, Reply(200, {"reached": path}))
