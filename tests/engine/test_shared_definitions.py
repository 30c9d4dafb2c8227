"""Definitions stored by one process are seen by the others on the same database (server workers)."""

from __future__ import annotations

from typing import Any

import pytest

from plughub.config import Settings
from plughub.engine import Engine
from plughub.enums import AuthenticationSchema
from plughub.exceptions import IntegrationNotFound
from plughub.schemas import ConnectRequest


def _definition(version: str = "1") -> dict[str, Any]:
    return {
        "id": "shared-api",
        "display_name": f"Shared API v{version}",
        "base_url": "https://shared.example.com",
        "auth": [{"mode": "API_KEY"}],
        "actions": {
            "SHARED_API_PING": {"display_name": "Ping", "method": "GET", "path": "/ping"},
        },
    }


def test_a_definition_created_by_another_process_is_found(settings: Settings) -> None:
    first, second = Engine(settings), Engine(settings)  # two workers, started before the definition exists
    try:
        first.integrations.create(_definition(), team="local")
        assert second.integrations.get("shared-api").name == "Shared API v1"
        created = second.connections.create(
            ConnectRequest(integration_id="shared-api", scheme=AuthenticationSchema.API_KEY, data={"api_key": "k1234"})
        )
        assert [a.code for a in second.actions.list(created.id)] == ["SHARED_API_PING"]
        assert "shared-api" in [i.id for i in second.integrations.list("shared").results]
        # Another team still does not see it.
        with pytest.raises(IntegrationNotFound, match="No integration with id or name 'shared-api'"):
            second.integrations.get("shared-api", team="globex")
    finally:
        first.close()
        second.close()


def test_a_listing_picks_up_a_redefinition(settings: Settings) -> None:
    first, second = Engine(settings), Engine(settings)
    try:
        first.integrations.create(_definition("1"))
        assert second.integrations.get("shared-api").name == "Shared API v1"
        first.integrations.create(_definition("2"))
        listed = second.integrations.list("shared api").results
        assert [i.name for i in listed if i.id == "shared-api"] == ["Shared API v2"]
    finally:
        first.close()
        second.close()
