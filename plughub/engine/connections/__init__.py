"""Connections: connect (inputs checked), describe (secrets masked), list, delete, reconnect.

The modules are imported by name (`service`, `inputs`, `view`, `lookup`): the OAuth flows use the
lookup, and the service uses the flows.
"""

from __future__ import annotations

__all__: list[str] = []
