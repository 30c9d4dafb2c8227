"""Every bad input of the foundation issue: a clear error, and nothing stored or sent."""

from __future__ import annotations

import pytest

from plughub import AuthenticationSchema, FunctionType, IntegrationFactory, ModelFactory, ResponseStatus
from plughub.exceptions import (
    ActionNotFound,
    IntegrationNotFound,
    InvalidInput,
    MissingInputs,
    UnknownInputs,
    UnsupportedScheme,
)
from tests.conftest import CANARY_API_KEY, CANARY_PASSWORD, CANARY_TOKEN
from tests.upstream import Reply

pytestmark = pytest.mark.usefixtures("any_backend")


def _stored() -> int:
    return int(ModelFactory.list(function_type=FunctionType.CONNECTION)["total"])


def _api_key_tool(port: int):  # type: ignore[no-untyped-def]
    response = IntegrationFactory.get("sandbox").connect(
        AuthenticationSchema.API_KEY, data={"api_key": CANARY_API_KEY, "port": port}
    )
    return ModelFactory.get(response.data["id"])


def test_unknown_integration_id_or_name() -> None:
    with pytest.raises(IntegrationNotFound, match="No integration with id or name 'nope'.*IntegrationFactory.list"):
        IntegrationFactory.get("nope")
    with pytest.raises(IntegrationNotFound, match="No integration with id or name 'Not A Service'"):
        IntegrationFactory.get(name="Not A Service")
    with pytest.raises(ValueError, match="No integration or connection with id 'nope'"):
        ModelFactory.get("nope")
    assert _stored() == 0


def test_unsupported_scheme_names_the_supported_ones() -> None:
    github = IntegrationFactory.get("github")
    with pytest.raises(
        UnsupportedScheme,
        match=r"API_KEY is not supported by GitHub\. "
        r"Supported authentication methods: OAUTH2, BEARER_TOKEN\.",
    ):
        github.connect(AuthenticationSchema.API_KEY, data={"api_key": CANARY_API_KEY})
    with pytest.raises(ValueError, match="authentication_schema is required.*OAUTH2, BEARER_TOKEN"):
        github.connect(data={"token": CANARY_TOKEN})
    with pytest.raises(ValueError, match="'TOKEN' is not an authentication schema"):
        github.connect("TOKEN", data={"token": CANARY_TOKEN})
    assert _stored() == 0


def test_missing_required_inputs_are_all_named() -> None:
    with pytest.raises(
        MissingInputs,
        match=r"Parameters 'email', 'api_token', 'subdomain' are required for "
        r"Zendesk BASIC authentication",
    ):
        IntegrationFactory.get("zendesk").connect(AuthenticationSchema.BASIC, data={})
    with pytest.raises(MissingInputs, match=r"Parameter 'password' is required for plughub Sandbox BASIC"):
        IntegrationFactory.get("sandbox").connect(AuthenticationSchema.BASIC, data={"username": "demo"})
    with pytest.raises(MissingInputs, match="'token' is required"):
        IntegrationFactory.get("github").connect(AuthenticationSchema.BEARER_TOKEN, data={"token": "  "})
    assert _stored() == 0


def test_unknown_input_keys_are_refused_with_the_accepted_ones() -> None:
    with pytest.raises(UnknownInputs, match=r"does not take 'tokn'\. Accepted parameters: token, base_url\."):
        IntegrationFactory.get("github").connect(AuthenticationSchema.BEARER_TOKEN, data={"tokn": CANARY_TOKEN})
    assert _stored() == 0


def test_connector_id_of_another_integration() -> None:
    with pytest.raises(ValueError, match="connector_id 'slack' is not this integration's id 'github'"):
        IntegrationFactory.get("github").connect(
            AuthenticationSchema.BEARER_TOKEN, data={"token": CANARY_TOKEN}, connector_id="slack"
        )
    assert _stored() == 0


def test_malformed_connect_values_never_echo_secrets() -> None:
    zendesk = IntegrationFactory.get("zendesk")
    with pytest.raises(InvalidInput, match=r"'subdomain' must match") as caught:
        zendesk.connect(
            AuthenticationSchema.BASIC, data={"email": "a@b.c", "api_token": CANARY_TOKEN, "subdomain": "Not Valid!"}
        )
    assert CANARY_TOKEN not in str(caught.value)
    with pytest.raises(InvalidInput, match="'api_token' must be of type string, not int"):
        zendesk.connect(AuthenticationSchema.BASIC, data={"email": "a@b.c", "api_token": 123, "subdomain": "acme"})
    with pytest.raises(InvalidInput, match="base_url must be an absolute http"):
        IntegrationFactory.get("github").connect(
            AuthenticationSchema.BEARER_TOKEN, data={"token": CANARY_TOKEN, "base_url": "ftp://x"}
        )
    with pytest.raises(InvalidInput, match="data must be a dictionary"):
        IntegrationFactory.get("github").connect(AuthenticationSchema.BEARER_TOKEN, data="token")  # type: ignore[arg-type]
    assert _stored() == 0


def test_unknown_action_lists_the_actions(sandbox) -> None:  # type: ignore[no-untyped-def]
    tool = _api_key_tool(sandbox.port)
    with pytest.raises(
        ActionNotFound, match=r"plughub Sandbox has no action 'SANDBOX_FLY'\. Its actions: SANDBOX_WHOAMI"
    ):
        tool.run("SANDBOX_FLY", {})
    with pytest.raises(ActionNotFound):
        tool.get_action_inputs("SANDBOX_FLY")
    assert sandbox.received == []


def test_inputs_that_fail_the_schema_name_the_field_and_send_nothing(sandbox) -> None:  # type: ignore[no-untyped-def]
    tool = _api_key_tool(sandbox.port)
    with pytest.raises(InvalidInput, match=r"SANDBOX_GET_NOTE: input 'note_id': 'abc' is not of type 'integer'"):
        tool.run("SANDBOX_GET_NOTE", {"note_id": "abc"})
    with pytest.raises(InvalidInput, match=r"input 'limit': 1000 is greater than the maximum of 100"):
        tool.run("SANDBOX_LIST_NOTES", {"limit": 1000})
    with pytest.raises(InvalidInput, match=r"input 'tags.0': 5 is not of type 'string'"):
        tool.run("SANDBOX_CREATE_NOTE", {"text": "x", "tags": [5]})
    with pytest.raises(MissingInputs, match=r"SANDBOX_CREATE_NOTE needs input 'text'"):
        tool.run("SANDBOX_CREATE_NOTE", {})
    with pytest.raises(UnknownInputs, match=r"does not take input 'colour'; it accepts: tags, text"):
        tool.run("SANDBOX_CREATE_NOTE", {"text": "x", "colour": "red"})
    assert sandbox.received == []


def test_upstream_down_is_a_failed_response(closed_port) -> None:  # type: ignore[no-untyped-def]
    tool = _api_key_tool(closed_port)
    response = tool.run("SANDBOX_WHOAMI", {})
    assert response.status is ResponseStatus.FAILED
    assert response.error_code == "upstream_unreachable"
    assert "could not reach 127.0.0.1" in response.error_message


def test_slow_upstream_fails_after_the_timeout(monkeypatch, upstream) -> None:  # type: ignore[no-untyped-def]
    from plughub.backends import reset_backend

    reset_backend()
    monkeypatch.setenv("PLUGHUB_READ_TIMEOUT", "0.3")
    monkeypatch.setenv("PLUGHUB_RETRY_ATTEMPTS", "1")
    upstream.route("GET", "/whoami", Reply(200, {"late": True}, delay=1.5))
    response = IntegrationFactory.get("sandbox").connect(
        AuthenticationSchema.BASIC, data={"username": "demo", "password": CANARY_PASSWORD, "base_url": upstream.url}
    )
    tool = ModelFactory.get(response.data["id"])
    result = tool.run("SANDBOX_WHOAMI", {})
    assert result.status is ResponseStatus.FAILED
    assert result.error_code == "upstream_unreachable"
    assert "127.0.0.1 accepted the connection but did not answer within 0.3 s" in result.error_message
    assert result.run_time < 1.4
