"""HTTP statuses are the server's: the exceptions carry codes, `plughub.server.errors` maps them to statuses."""

from __future__ import annotations

import pytest

from plughub.exceptions import ERRORS_BY_CODE, DatabaseUnavailable, PlughubError, error_class
from plughub.server.errors import error_response, retry_after_of, status_of

# Every code and the status the server answers it with (the README's errors table and DESIGN.md).
STATUSES = {
    "plughub_error": 500,
    "configuration_error": 500,
    "unauthorized": 401,
    "payload_too_large": 413,
    "invalid_input": 422,
    "unsupported_scheme": 422,
    "missing_inputs": 422,
    "unknown_inputs": 422,
    "not_found": 404,
    "integration_not_found": 404,
    "connection_not_found": 404,
    "action_not_found": 404,
    "trigger_not_found": 404,
    "subscription_not_found": 404,
    "event_not_found": 404,
    "conflict": 409,
    "catalog_error": 500,
    "invalid_definition": 422,
    "credential_error": 500,
    "vault_key_error": 500,
    "connection_not_active": 409,
    "invalid_credentials": 409,
    "oauth_error": 400,
    "oauth_app_missing": 422,
    "oauth_state_invalid": 400,
    "oauth_provider_error": 502,
    "connection_expired": 409,
    "action_error": 502,
    "upstream_status": 502,
    "upstream_error": 502,
    "upstream_redirect": 502,
    "outbound_blocked": 502,
    "upstream_unreachable": 504,
    "upstream_timeout": 504,
    "mcp_protocol_error": 502,
    "mcp_tool_error": 502,
    "backend_error": 503,
    "database_unavailable": 503,
}


def test_the_exceptions_carry_no_http_status() -> None:
    for cls in ERRORS_BY_CODE.values():
        assert not hasattr(cls, "status_code"), cls
        assert not hasattr(cls, "retry_after"), cls


@pytest.mark.parametrize("code", sorted(ERRORS_BY_CODE))
def test_every_code_has_its_status(code: str) -> None:
    exc = error_class(code)("what happened")
    assert status_of(exc) == STATUSES[code]
    response = error_response(exc)
    assert response.status_code == STATUSES[code]
    assert response.body == b'{"error":"%s","message":"what happened","details":{}}' % code.encode()


def test_a_class_the_table_does_not_name_takes_its_parents_status() -> None:
    class Unheard(DatabaseUnavailable):
        code = "unheard"

    assert (status_of(Unheard("x")), retry_after_of(Unheard("x"))) == (503, 5)
    assert status_of(type("Other", (PlughubError,), {})("x")) == 500


def test_only_an_unavailable_database_says_when_to_try_again() -> None:
    assert {code for code in ERRORS_BY_CODE if retry_after_of(error_class(code)("x")) is not None} == {
        "database_unavailable"
    }
    assert error_response(DatabaseUnavailable("the database cannot be reached")).headers["retry-after"] == "5"
