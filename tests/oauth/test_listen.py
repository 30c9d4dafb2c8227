"""listen_for_callback: serve PLUGHUB_CALLBACK_URL until the browser comes back, as `plughub connect` does."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from plughub.callbacks import listen_for_callback
from plughub.enums import AuthenticationSchema, ConnectionStatus
from plughub.exceptions import OAuthProviderError
from plughub.modules.model.connection import ConnectionTool
from plughub.modules.model.integration import Integration
from plughub.sandbox import SandboxServer
from tests.oauth.conftest import connect, consent


@pytest.fixture
def listener(callback_url: str, backend: object) -> Iterator[Callable[[float], dict[str, Any]]]:
    """Start listen_for_callback in a thread; the returned dict gets `tool` or `error`."""
    threads: list[threading.Thread] = []

    def start(timeout: float = 20.0) -> dict[str, Any]:
        outcome: dict[str, Any] = {}
        ready = threading.Event()

        def run() -> None:
            try:
                outcome["tool"] = listen_for_callback(callback_url, timeout=timeout, ready=ready)
            except BaseException as exc:
                outcome["error"] = exc

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        threads.append(thread)
        assert ready.wait(10), "the listener did not start"
        outcome["thread"] = thread
        return outcome

    yield start
    for thread in threads:
        thread.join(30)


@pytest.mark.parametrize("scheme", [AuthenticationSchema.OAUTH2, AuthenticationSchema.OAUTH1])
def test_the_browser_lands_on_the_success_page(
    integ: Integration,
    sb: SandboxServer,
    callback_url: str,
    listener: Callable[[float], dict[str, Any]],
    scheme: AuthenticationSchema,
) -> None:
    outcome = listener(20.0)
    # Something else asking the listener is turned away without ending it.
    origin = callback_url.rsplit("/oauth/callback", 1)[0]
    assert httpx.get(f"{origin}/favicon.ico").status_code == 404
    response = connect(integ, scheme, port=sb.port)
    page = consent(response.data["redirectURL"], follow=True)  # the browser follows to the callback
    assert page.status_code == 200
    assert str(page.url).startswith(callback_url + "?")
    assert "Connected" in page.text and f"Connection {response.data['id']} is active." in page.text
    outcome["thread"].join(20)
    assert "error" not in outcome, outcome.get("error")
    tool = outcome["tool"]
    assert isinstance(tool, ConnectionTool)
    assert tool.id == response.data["id"] and tool.status is ConnectionStatus.ACTIVE
    assert tool.run("SANDBOX_WHOAMI").data["scheme"] == scheme.value


@pytest.mark.parametrize("scheme", [AuthenticationSchema.OAUTH2, AuthenticationSchema.OAUTH1])
def test_a_denied_consent_shows_the_failure_page_and_raises(
    integ: Integration,
    sb: SandboxServer,
    listener: Callable[[float], dict[str, Any]],
    scheme: AuthenticationSchema,
) -> None:
    outcome = listener(20.0)
    response = connect(integ, scheme, port=sb.port)
    page = consent(response.data["redirectURL"], "deny", follow=True)
    assert page.status_code == 400
    assert "The connection failed" in page.text and "access_denied" in page.text
    outcome["thread"].join(20)
    assert "tool" not in outcome
    error = outcome["error"]
    assert isinstance(error, OAuthProviderError) and "access_denied" in error.message
    assert integ.backend.get_connection(response.data["id"]).status is ConnectionStatus.FAILED


def test_no_callback_times_out(callback_url: str, backend: object) -> None:
    with pytest.raises(TimeoutError, match=rf"no OAuth callback reached {callback_url} within 0.3 s"):
        listen_for_callback(callback_url, timeout=0.3)
