"""What models read about tools (descriptions, inputs), and picking a few of many actions (find_actions, max_tools)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from plughub import AuthenticationSchema, ConnectionTool, IntegrationFactory, ModelFactory
from plughub.modules.model.ranking import rank_actions, words
from plughub.schemas import ActionInfo
from plughub.tool_schemas import as_tools, returns_sentence, tool_description

GITHUB = (
    next(
        (
            p
            for p in (Path("/work/shared/openapi"), Path(__file__).resolve().parents[3] / "shared" / "openapi")
            if p.is_dir()
        ),
        Path("/nonexistent"),
    )
    / "github-api.github.com.json"
)
needs_github = pytest.mark.skipif(not GITHUB.exists(), reason="the shared OpenAPI corpus is not beside the repository")


def info(code: str, description: str = "", method: str = "POST", name: str = "") -> ActionInfo:
    return ActionInfo(code=code, name=name or code.title(), description=description, method=method, path="/things")


# ---------------------------------------------------------------- descriptions


def test_a_description_says_what_the_action_does_and_what_it_returns() -> None:
    http = tool_description(info("ACME_CREATE_THING", "Create a thing."), 1024)
    assert http == (
        "Create a thing.\n\nReturns the service's JSON answer; on failure, an error with the HTTP status and the "
        "service's message."
    )
    mcp = tool_description(info("forecast", "Weather forecast for a city.", method="MCP"), 1024)
    assert mcp.endswith("\n\nReturns the MCP tool's result; on failure, an error with the tool's message.")
    # A description that already says what comes back gets only the failure part.
    said = info("ACME_LIST", "List things. Returns the things, newest first.")
    assert returns_sentence(said) == "On failure, an error with the HTTP status and the service's message."
    # "returns" inside a sentence is not a statement of the answer.
    assert returns_sentence(info("X", "If disabled, the API returns a 410 status.")).startswith("Returns the service")
    # No description: the name, with the request it makes.
    assert tool_description(info("ACME_PING", name="Ping"), 1024).startswith("Ping (POST /things).\n\nReturns ")


def test_long_descriptions_are_cut_at_a_sentence_boundary() -> None:
    sentences = " ".join(f"Sentence number {i} explains one more detail of the operation." for i in range(40))
    (tool,) = as_tools([info("ACME_LONG", sentences)])
    text = tool["function"]["description"]
    does, _, returns = text.partition("\n\n")
    assert len(text) <= 1024 and returns == returns_sentence(info("ACME_LONG"))
    assert does.endswith("of the operation.") and sentences.startswith(does)  # whole sentences, nothing added
    (anthropic,) = as_tools([info("ACME_LONG", sentences * 3)], "anthropic")
    assert len(anthropic["description"]) <= 4096 and anthropic["description"].split("\n\n")[0].endswith(".")


@pytest.mark.usefixtures("backend")
def test_inputs_keep_their_descriptions_and_enums_through_an_openapi_import() -> None:
    document = {
        "openapi": "3.0.3",
        "info": {"title": "Acme", "version": "1"},
        "servers": [{"url": "https://api.acme.example"}],
        "paths": {
            "/tickets": {
                "post": {
                    "operationId": "createTicket",
                    "summary": "Create a ticket",
                    "description": "Files a support ticket. " + "It is routed to the on-call team. " * 60,
                    "parameters": [
                        {
                            "name": "notify",
                            "in": "query",
                            "description": "Who hears about it",
                            "schema": {"type": "string", "enum": ["nobody", "team", "everyone"]},
                        }
                    ],
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["title"],
                                    "properties": {
                                        "title": {"type": "string", "description": "A one-line summary"},
                                        "severity": {"type": "string", "enum": ["low", "high"]},
                                    },
                                }
                            }
                        }
                    },
                    "responses": {"201": {"description": "Created"}},
                }
            }
        },
    }
    integration = IntegrationFactory.from_openapi(document, id="acme-tickets")
    tool = ModelFactory.get(integration.connect(AuthenticationSchema.NO_AUTH).data["id"])
    assert isinstance(tool, ConnectionTool)
    (definition,) = tool.as_tools("openai")
    parameters = definition["function"]["parameters"]["properties"]
    assert parameters["notify"]["description"] == "Who hears about it"
    assert parameters["notify"]["enum"] == ["nobody", "team", "everyone"]
    assert parameters["title"]["description"] == "A one-line summary"
    assert parameters["severity"]["enum"] == ["low", "high"]
    description = definition["function"]["description"]
    assert len(description) <= 1024 and "to the on-call team.\n\nReturns the service's JSON answer" in description


# ---------------------------------------------------------------- ranking


def test_words_split_codes_and_camel_case_and_stem_lightly() -> None:
    assert words("GITHUB_CREATE_ISSUE") == ["github", "creat", "issu"]
    assert words("createIssue for the repositories") == ["creat", "issu", "repository"]
    assert words("Creating issues") == words("create issue")
    assert words("listHTTPServers") == ["list", "http", "server"]


def test_rank_actions_weighs_names_over_descriptions_and_keeps_order_on_ties() -> None:
    actions = [
        info("ACME_LIST_ISSUES", "Lists issues; use it before you create an issue.", name="List issues"),
        info("ACME_CREATE_ISSUE_COMMENT", "Comment on an issue.", name="Create an issue comment"),
        info("ACME_CREATE_ISSUE", "File a bug.", name="Create an issue"),
        info("ACME_ADD_LABEL", "Label an issue.", name="Add a label"),
        info("ACME_DELETE_REPO", "Remove a repository.", name="Delete a repository"),
    ]
    codes = [a.code for a in rank_actions("create an issue", actions, limit=3)]
    assert codes == ["ACME_CREATE_ISSUE", "ACME_CREATE_ISSUE_COMMENT", "ACME_LIST_ISSUES"]
    assert [a.code for a in rank_actions("remove repository", actions)] == ["ACME_DELETE_REPO"]  # a synonym
    assert rank_actions("payroll", actions) == []
    twins = [info("ACME_A", "Same words."), info("ACME_B", "Same words.")]
    assert [a.code for a in rank_actions("same words", twins)] == ["ACME_A", "ACME_B"]
    for bad, message in (("", "non-empty"), ("the of a", "no words"), (None, "non-empty")):
        with pytest.raises(ValueError, match=message):
            rank_actions(bad, actions)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="limit must be a positive integer"):
        rank_actions("issue", actions, limit=0)


@pytest.fixture
def github(backend: object) -> Iterator[ConnectionTool]:
    """A connection to GitHub's whole REST API, imported from its OpenAPI document (over 800 actions)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the report of the few operations it cannot import
        integration = IntegrationFactory.from_openapi(str(GITHUB), id="gh")
    tool = ModelFactory.get(integration.connect(AuthenticationSchema.NO_AUTH).data["id"])
    assert isinstance(tool, ConnectionTool)
    yield tool


@needs_github
def test_find_actions_picks_a_few_of_an_800_action_import(github: ConnectionTool) -> None:
    assert len(github.actions) > 800
    expected = {
        "create an issue": "GH_ISSUES_CREATE",
        "add a comment to an issue": "GH_ISSUES_CREATE_COMMENT",
        "open a pull request": "GH_PULLS_CREATE",
        "merge a pull request": "GH_PULLS_MERGE",
        "list pull requests of a repository": "GH_PULLS_LIST",
        "delete a repository": "GH_REPOS_DELETE",
        "get the authenticated user": "GH_USERS_GET_AUTHENTICATED",
    }
    for query, code in expected.items():
        found = github.find_actions(query)
        assert len(found) == 5 and found[0].code == code, (query, [a.code for a in found])
        assert [a.code for a in github.find_actions(query)] == [a.code for a in found]  # the same every time
    # It looks only inside action_scope.
    github.action_scope = [a for a in github.actions if a.code.startswith("GH_PULLS_")]
    assert {a.code for a in github.find_actions("create an issue", limit=10)} <= {a.code for a in github.action_scope}
    assert github.find_actions("open a pull request", limit=1)[0].code == "GH_PULLS_CREATE"
    assert all(a.code.startswith("GH_PULLS_") for a in github.find_actions("create an issue"))


@needs_github
def test_as_tools_max_tools_and_query(github: ConnectionTool) -> None:
    best = [a.code for a in github.find_actions("create an issue", limit=3)]
    tools = github.as_tools("anthropic", max_tools=3, query="create an issue")
    assert [t["name"] for t in tools] == best
    # run_tool_call knows the tools it handed out.
    with pytest.raises(ValueError, match="not one of this connection's tools"):
        github.run_tool_call({"type": "tool_use", "id": "c", "name": "GH_PULLS_MERGE", "input": {}})
    with pytest.warns(UserWarning, match=r"only the first 4 become tools; pass query="):
        first = github.as_tools("openai", max_tools=4)
    assert [t["function"]["name"] for t in first] == [a.code for a in github.actions[:4]]
    github.action_scope = [a for a in github.actions if a.code in ("GH_PULLS_CREATE", "GH_ISSUES_CREATE")]
    assert [t["function"]["name"] for t in github.as_tools(max_tools=5, query="create an issue")] == [
        "GH_ISSUES_CREATE",
        "GH_PULLS_CREATE",
    ]
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="max_tools must be a positive integer"):
            github.as_tools(max_tools=bad)  # type: ignore[arg-type]
