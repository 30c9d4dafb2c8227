"""The public API of DESIGN.md §1, line by line, on the embedded backend."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

import plughub
from plughub import (
    AuthenticationSchema,
    BaseAuthenticationParams,
    ConnectAction,
    ConnectionTool,
    Function,
    FunctionType,
    Integration,
    IntegrationFactory,
    Model,
    ModelFactory,
    ModelResponse,
    ResponseStatus,
    Supplier,
    build_connector_params,
)
from tests.conftest import CANARY_API_KEY, CANARY_PASSWORD, CANARY_TOKEN

pytestmark = pytest.mark.usefixtures("any_backend")


def test_import_paths_are_the_aixplain_ones() -> None:
    from plughub.enums import AuthenticationSchema as EnumsScheme
    from plughub.enums import Function as F
    from plughub.enums import FunctionType as FT
    from plughub.enums import ResponseStatus as RS
    from plughub.enums import Supplier as S
    from plughub.factories import IntegrationFactory as IF
    from plughub.factories import ModelFactory as MF
    from plughub.modules.model import Model as M
    from plughub.modules.model import ModelResponse as MR
    from plughub.modules.model.connection import ConnectAction as CA
    from plughub.modules.model.connection import ConnectionTool as CT
    from plughub.modules.model.integration import AuthenticationSchema as IntegrationScheme
    from plughub.modules.model.integration import BaseAuthenticationParams as BAP
    from plughub.modules.model.integration import Integration as I
    from plughub.modules.model.integration import build_connector_params as bcp

    assert IntegrationScheme is EnumsScheme is AuthenticationSchema
    assert (Function, FunctionType, ResponseStatus, Supplier) == (F, FT, RS, S)
    assert (IF, MF, M, MR, CA, CT, BAP, I, bcp) == (
        IntegrationFactory,
        ModelFactory,
        Model,
        ModelResponse,
        ConnectAction,
        ConnectionTool,
        BaseAuthenticationParams,
        Integration,
        build_connector_params,
    )


def test_authentication_schema_members_in_order_with_their_names_as_values() -> None:
    assert [m.name for m in AuthenticationSchema] == ["BEARER_TOKEN", "OAUTH1", "OAUTH2", "API_KEY", "BASIC", "NO_AUTH"]
    assert all(m.value == m.name for m in AuthenticationSchema)


def test_base_authentication_params_and_build_connector_params() -> None:
    empty = BaseAuthenticationParams()
    assert (empty.name, empty.description, empty.connector_id) == (None, None, None)
    params = build_connector_params(name="My Connection", connector_id="123", colour="blue")
    assert params.name == "My Connection"
    assert params.connector_id == "123"
    assert params.description is None
    assert not hasattr(params, "colour")


def test_integration_constructor_signature() -> None:
    parameters = inspect.signature(Integration.__init__).parameters
    assert list(parameters) == [
        "self",
        "id",
        "name",
        "description",
        "api_key",
        "supplier",
        "version",
        "function",
        "is_subscribed",
        "cost",
        "function_type",
        "additional_info",
    ]
    assert parameters["description"].default == ""
    assert parameters["api_key"].default is None
    assert parameters["supplier"].default == "plughub"
    assert parameters["is_subscribed"].default is False
    assert parameters["function_type"].default is FunctionType.INTEGRATION


def test_integration_refuses_another_function_type_even_under_python_O() -> None:
    with pytest.raises(AssertionError, match="connector"):
        Integration("x", "X", function_type=FunctionType.CONNECTION)
    code = (
        "from plughub import Integration, FunctionType\n"
        "try:\n    Integration('x', 'X', function_type=FunctionType.AI)\n"
        "except AssertionError:\n    print('raised')\n"
    )
    out = subprocess.run([sys.executable, "-O", "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "raised"


def test_integration_repr_and_supplier_dict() -> None:
    github = IntegrationFactory.get("github")
    assert repr(github) == "Integration: GitHub by GitHub, Inc. (id=github)"
    custom = Integration("acme", "Acme", supplier={"id": 1, "name": "Acme Inc."})
    assert repr(custom) == "Integration: Acme by Acme Inc. (id=acme)"
    assert "Supplier" not in repr(Integration("acme", "Acme", supplier=Supplier.PLUGHUB))


def test_authentication_methods_lists_scheme_names() -> None:
    assert IntegrationFactory.get("github").authentication_methods == ["OAUTH2", "BEARER_TOKEN"]
    assert IntegrationFactory.get("sandbox").authentication_methods == [
        "API_KEY",
        "BEARER_TOKEN",
        "BASIC",
        "NO_AUTH",
        "OAUTH2",
        "OAUTH1",
    ]


def test_integration_built_by_hand_fetches_its_schemes() -> None:
    assert Integration("sandbox", "Sandbox").authentication_methods[0] == "API_KEY"


@pytest.mark.parametrize(
    ("scheme", "data", "expected"),
    [
        (AuthenticationSchema.API_KEY, {"api_key": CANARY_API_KEY}, "API_KEY"),
        (AuthenticationSchema.BEARER_TOKEN, {"token": CANARY_TOKEN}, "BEARER_TOKEN"),
        (AuthenticationSchema.BASIC, {"username": "demo", "password": CANARY_PASSWORD}, "BASIC"),
    ],
)
def test_connect_static_schemes_is_usable_at_once(sandbox, scheme, data, expected) -> None:  # type: ignore[no-untyped-def]
    response = IntegrationFactory.get("sandbox").connect(scheme, data={**data, "port": sandbox.port}, name="mine")
    assert isinstance(response, ModelResponse)
    assert response.status is ResponseStatus.SUCCESS
    assert "redirectURL" not in response.data
    tool = ModelFactory.get(response.data["id"])
    assert isinstance(tool, ConnectionTool)
    result = tool.run("SANDBOX_WHOAMI", {})
    assert result.status is ResponseStatus.SUCCESS, result.error_message
    assert result.data["scheme"] == expected


def test_connect_no_auth(sandbox) -> None:  # type: ignore[no-untyped-def]
    response = IntegrationFactory.get("sandbox").connect(AuthenticationSchema.NO_AUTH, data={"port": sandbox.port})
    tool = ModelFactory.get(response.data["id"])
    assert tool.run("SANDBOX_ECHO", {"message": "hi"}).data == {"echo": "hi", "authenticated": False}


def test_connect_builds_args_from_kwargs_or_takes_args(sandbox) -> None:  # type: ignore[no-untyped-def]
    sandbox_integration = IntegrationFactory.get("sandbox")
    first = sandbox_integration.connect(
        AuthenticationSchema.NO_AUTH, data={"port": sandbox.port}, name="from kwargs", description="d1"
    )
    second = sandbox_integration.connect(
        AuthenticationSchema.NO_AUTH,
        data={"port": sandbox.port},
        args=BaseAuthenticationParams(name="from args", connector_id="sandbox"),
    )
    assert ModelFactory.get(first.data["id"]).name == "from kwargs"
    assert ModelFactory.get(first.data["id"]).description == "d1"
    assert ModelFactory.get(second.data["id"]).name == "from args"


def test_connect_with_base_url_points_the_connection_elsewhere(sandbox) -> None:  # type: ignore[no-untyped-def]
    # The definition's base_url uses port 8766; base_url sends this connection to the sandbox.
    response = IntegrationFactory.get("sandbox").connect(
        AuthenticationSchema.BEARER_TOKEN, data={"token": CANARY_TOKEN, "base_url": sandbox.url}
    )
    tool = ModelFactory.get(response.data["id"])
    assert tool.run("SANDBOX_WHOAMI", {}).data["scheme"] == "BEARER_TOKEN"


def test_connection_ids_are_opaque_and_random(sandbox) -> None:  # type: ignore[no-untyped-def]
    ids = {
        IntegrationFactory.get("sandbox").connect(AuthenticationSchema.NO_AUTH, data={"port": 1}).data["id"]
        for _ in range(5)
    }
    assert len(ids) == 5
    assert all(re.fullmatch(r"[0-9a-f]{24}", i) for i in ids)


def test_model_factory_get_turns_ids_into_objects(sandbox) -> None:  # type: ignore[no-untyped-def]
    integration = ModelFactory.get("slack")
    assert isinstance(integration, Integration)
    assert integration.function_type is FunctionType.INTEGRATION
    connection_id = IntegrationFactory.get("sandbox").connect(AuthenticationSchema.NO_AUTH, data={"port": 1}).data["id"]
    tool = ModelFactory.get(connection_id)
    assert isinstance(tool, ConnectionTool)
    assert tool.function_type is FunctionType.CONNECTION
    assert repr(tool) == f"ConnectionTool(id={connection_id}, name=plughub Sandbox)"


def test_listings_have_the_paging_shape(sandbox) -> None:  # type: ignore[no-untyped-def]
    everything = IntegrationFactory.list(page_size=5)
    assert set(everything) == {"results", "page_total", "page_number", "total"}
    assert len(everything["results"]) == 5
    assert everything["total"] >= 26
    assert everything["page_total"] == -(-everything["total"] // 5)
    second = IntegrationFactory.list(page_number=1, page_size=5)
    assert {i.id for i in second["results"]}.isdisjoint({i.id for i in everything["results"]})
    # Full text over actions too: the id or name match comes first.
    assert IntegrationFactory.list(query="slack")["results"][0].id == "slack"
    models = ModelFactory.list(query="github")
    assert models["results"][0].id == "github"
    for name in ("first", "second"):
        IntegrationFactory.get("sandbox").connect(AuthenticationSchema.NO_AUTH, data={"port": 1}, name=name)
    connections = ModelFactory.list(function_type=FunctionType.CONNECTION)
    assert connections["total"] == 2
    assert all(isinstance(c, ConnectionTool) for c in connections["results"])
    assert ModelFactory.list(function_type=FunctionType.CONNECTION, query="second")["total"] == 1


def test_integration_factory_get_by_id_or_name() -> None:
    assert IntegrationFactory.get(model_id="google-calendar").id == "google-calendar"
    assert IntegrationFactory.get(name="GitHub").id == "github"
    assert IntegrationFactory.get("github").function is Function.CONNECTOR


DEFINITION = {
    "id": "acme-notes",
    "display_name": "Acme Notes",
    "description": "Acme's notes API.",
    "supplier": "Acme Inc.",
    "base_url": "http://127.0.0.1:1",
    "auth": [{"mode": "BEARER_TOKEN"}],
    "actions": {
        "ACME_NOTES_WHOAMI": {"display_name": "Who am I", "method": "GET", "path": "/whoami"},
    },
}


def test_integration_factory_create_from_dict_persists(sandbox, home, settings) -> None:  # type: ignore[no-untyped-def]
    created = IntegrationFactory.create(DEFINITION)
    assert repr(created) == "Integration: Acme Notes by Acme Inc. (id=acme-notes)"
    response = created.connect(AuthenticationSchema.BEARER_TOKEN, data={"token": CANARY_TOKEN, "base_url": sandbox.url})
    assert ModelFactory.get(response.data["id"]).run("ACME_NOTES_WHOAMI", {}).data["scheme"] == "BEARER_TOKEN"
    # A new engine on the same home still knows it.
    from plughub.engine import Engine

    fresh = Engine(settings)
    try:
        assert fresh.integrations.get("acme-notes").name == "Acme Notes"
    finally:
        fresh.close()


def test_integration_factory_create_from_path(tmp_path: Path) -> None:
    import yaml

    path = tmp_path / "acme-notes.yaml"
    path.write_text(yaml.safe_dump(DEFINITION))
    assert IntegrationFactory.create(str(path)).id == "acme-notes"
    assert IntegrationFactory.get("Acme Notes").id == "acme-notes"


def _tool(sandbox) -> ConnectionTool:  # type: ignore[no-untyped-def]
    response = IntegrationFactory.get("sandbox").connect(
        AuthenticationSchema.API_KEY, data={"api_key": CANARY_API_KEY, "port": sandbox.port}
    )
    tool = ModelFactory.get(response.data["id"])
    assert isinstance(tool, ConnectionTool)
    return tool


def test_connection_tool_actions_and_inputs(sandbox) -> None:  # type: ignore[no-untyped-def]
    tool = _tool(sandbox)
    codes = [a.code for a in tool.actions]
    assert codes[:2] == ["SANDBOX_WHOAMI", "SANDBOX_CREATE_NOTE"]
    create = tool.actions[1]
    assert isinstance(create, ConnectAction)
    assert (create.name, create.description) == ("Create note", "Store a note.")
    assert repr(create) == "Action(code=SANDBOX_CREATE_NOTE, name=Create note)"
    inputs = tool.get_action_inputs(create)
    assert set(inputs) == {"text", "tags"}
    for spec in inputs.values():
        assert {"name", "description", "datatype", "required"} <= set(spec)
    assert inputs["text"]["required"] is True
    assert inputs["tags"]["required"] is False
    assert create.inputs == inputs  # cached on the action
    assert tool.get_action_inputs("SANDBOX_GET_NOTE")["note_id"]["datatype"] == "number"


def test_connection_tool_run_with_inputs_or_data(sandbox) -> None:  # type: ignore[no-untyped-def]
    tool = _tool(sandbox)
    created = tool.run("SANDBOX_CREATE_NOTE", {"text": "one"})
    assert created.status is ResponseStatus.SUCCESS
    assert created.completed is True
    get_note = next(a for a in tool.actions if a.code == "SANDBOX_GET_NOTE")
    fetched = tool.run(get_note, data={"note_id": created.data["id"]})
    assert fetched.data["text"] == "one"
    # The integration prefix may be left out.
    assert tool.run("LIST_NOTES", {"limit": 1}).data["total"] == 1


def test_action_scope_and_get_parameters(sandbox) -> None:  # type: ignore[no-untyped-def]
    tool = _tool(sandbox)
    with pytest.warns(UserWarning, match="No action_scope"):
        assert tool.get_parameters() == []
    tool.action_scope = [a for a in tool.actions if a.code in ("SANDBOX_WHOAMI", "SANDBOX_ECHO")]
    parameters = tool.get_parameters()
    assert [p["code"] for p in parameters] == ["SANDBOX_WHOAMI", "SANDBOX_ECHO"]
    assert parameters[1]["inputs"]["message"]["required"] is True
    assert tool.run("SANDBOX_WHOAMI", {}).status is ResponseStatus.SUCCESS
    with pytest.raises(ValueError, match="outside this connection's action_scope"):
        tool.run("SANDBOX_CREATE_NOTE", {"text": "x"})


def test_delete_removes_the_connection(sandbox) -> None:  # type: ignore[no-untyped-def]
    tool = _tool(sandbox)
    tool.delete()
    with pytest.raises(ValueError, match="No integration or connection"):
        ModelFactory.get(tool.id)


def test_model_response_fields_and_dict_access() -> None:
    response = ModelResponse(
        status=ResponseStatus.FAILED,
        data={"a": 1},
        error_message="boom",
        error_code="upstream_status",
        run_time=0.5,
        extra="x",
    )
    assert response["data"] == {"a": 1}
    assert response["status"] is ResponseStatus.FAILED
    assert response.get("error_message") == "boom"
    assert response.get("missing", 7) == 7
    assert "data" in response and "extra" in response and "nope" not in response
    assert response["runTime"] == 0.5
    as_dict = response.to_dict()
    assert as_dict["status"] == "FAILED"
    assert as_dict["extra"] == "x"
    assert {"status", "data", "details", "completed", "error_message", "error_code", "run_time"} <= set(as_dict)
    response["data"] = 2
    assert response.data == 2
    with pytest.raises(KeyError):
        response["nope"]


def test_plughub_reexports_the_public_names() -> None:
    for name in (
        "AuthenticationSchema",
        "BaseAuthenticationParams",
        "build_connector_params",
        "Integration",
        "ConnectionTool",
        "ConnectAction",
        "Model",
        "ModelResponse",
        "Function",
        "FunctionType",
        "Supplier",
        "ResponseStatus",
        "ModelFactory",
        "IntegrationFactory",
    ):
        assert hasattr(plughub, name), name
    assert isinstance(plughub.__version__, str)
