"""The engine: small services and the composition root that wires them.

Services: catalog, credentials, connections, actions, http, oauth, mcp_client, teams, audit. The
engine never imports the SDK, the backends or the server.
"""

from __future__ import annotations

from plughub.engine.engine import Engine

__all__ = ["Engine"]
